/**
 * The lab's CloudWatch endpoint: an {@link AwsServiceHandler} for
 * startAwsLab() speaking the wire protocol of the installed
 * @aws-sdk/client-cloudwatch (3.1164): AWS JSON 1.0 with awsQueryCompatible
 * (runtimeConfig.shared.js → AwsJson1_0Protocol, serviceTarget
 * GraniteServiceVersion20100801):
 *
 *   POST /   Content-Type: application/x-amz-json-1.0
 *   X-Amz-Target: GraniteServiceVersion20100801.<Operation>
 *   x-amzn-query-mode: true
 *   Content-Encoding: gzip  (PutMetricData bodies ≥ 10,240 bytes;
 *                            @smithy/middleware-compression, undone by server.ts)
 *
 * Answers 200 with a JSON body (timestamps epoch seconds), or errors shaped
 * as in cloudwatch-errors.ts. Signatures are not checked (dummy credentials).
 */

import { CloudWatchAdminStore } from "./cloudwatch-admin.js";
import { CwLabError, renderCloudWatchError, requestId } from "./cloudwatch-errors.js";
import { CloudWatchMetricStore } from "./cloudwatch-metrics.js";
import type { AwsLabError, AwsLabRequest, AwsLabResponse, AwsServiceHandler } from "./server.js";

export const CLOUDWATCH_TARGET_PREFIX = "GraniteServiceVersion20100801.";

type Body = Record<string, unknown>;

export interface CloudWatchLabOptions {
  /** Region in ARNs. Default us-east-1. */
  region?: string;
  /** Wall clock (epoch ms), for timestamp checks. */
  wallMs?: () => number;
}

/** The handler plus its state, for tests and the lab to inspect. */
export interface CloudWatchLab extends AwsServiceHandler {
  readonly metrics: CloudWatchMetricStore;
  readonly admin: CloudWatchAdminStore;
  /** Successful calls per operation. */
  readonly operations: Map<string, number>;
}

export function createCloudWatchLab(opts: CloudWatchLabOptions = {}): CloudWatchLab {
  const wallMs = opts.wallMs ?? Date.now;
  const metrics = new CloudWatchMetricStore(wallMs);
  const admin = new CloudWatchAdminStore(opts.region ?? "us-east-1", wallMs);
  const operations = new Map<string, number>();

  const ops: Record<string, (b: Body, raw: Buffer) => Body> = {
    PutMetricData: (b, raw) => metrics.putMetricData(b, raw.length),
    GetMetricData: (b) => metrics.getMetricData(b),
    ListMetrics: (b) => metrics.listMetrics(b),
    PutDashboard: (b) => admin.putDashboard(b),
    GetDashboard: (b) => admin.getDashboard(b),
    ListDashboards: (b) => admin.listDashboards(b),
    DeleteDashboards: (b) => admin.deleteDashboards(b),
    PutMetricAlarm: (b) => admin.putMetricAlarm(b),
    PutCompositeAlarm: (b) => admin.putCompositeAlarm(b),
    DescribeAlarms: (b) => admin.describeAlarms(b),
    DeleteAlarms: (b) => admin.deleteAlarms(b),
  };

  const renderError = (_req: AwsLabRequest, err: AwsLabError): AwsLabResponse => renderCloudWatchError(err);

  return {
    name: "cloudwatch",
    metrics,
    admin,
    operations,
    matches: (req) => req.target?.startsWith(CLOUDWATCH_TARGET_PREFIX) ?? false,
    renderError,
    async handle(req, raw) {
      const op = (req.target ?? "").slice(CLOUDWATCH_TARGET_PREFIX.length);
      const fn = ops[op];
      if (!fn) {
        return renderCloudWatchError({
          status: 400,
          code: "InvalidAction",
          message: `lab: operation ${op} is not implemented`,
          type: "Sender",
        });
      }
      const ctype = String(req.headers["content-type"] ?? "");
      if (!ctype.startsWith("application/x-amz-json-1.0")) {
        return renderCloudWatchError({
          status: 400,
          code: "InvalidParameterValue",
          message: `expected Content-Type application/x-amz-json-1.0, got '${ctype}'`,
          type: "Sender",
        });
      }
      let body: Body;
      try {
        body = raw.length === 0 ? {} : (JSON.parse(raw.toString("utf8")) as Body);
      } catch {
        return renderCloudWatchError({
          status: 400,
          code: "SerializationException",
          message: "bad JSON",
          type: "Sender",
        });
      }
      try {
        const out = fn(body, raw);
        operations.set(op, (operations.get(op) ?? 0) + 1);
        return {
          status: 200,
          headers: { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": requestId() },
          body: JSON.stringify(out),
        };
      } catch (e) {
        if (e instanceof CwLabError) {
          return renderCloudWatchError(
            {
              status: e.status,
              code: e.code,
              message: e.message,
              type: e.status >= 500 ? "Receiver" : "Sender",
            },
            e.extra,
          );
        }
        throw e;
      }
    },
  };
}
