/**
 * `stallwatch iam-policy`: the least-privilege IAM policy for exactly what a
 * config enables, and a separate "deploy" policy for creating the dashboard
 * and alarms (a one-off, run by a person or a pipeline, not by the prober).
 *
 * Runtime (the prober's task role / instance profile):
 *  - cloudwatch:PutMetricData        cloudwatch.enabled with mode "api"; condition on cloudwatch:namespace
 *  - cloudwatch:GetMetricData        an API with `apiGateway` or `targetGroups` (evidence around stalls)
 *  - xray:BatchGetTraces              xray.enabled and xray.fetchTraces (the trace ids
 *                                     are the ones stallwatch sent: no GetTraceSummaries search)
 *  - elasticloadbalancing:Describe{TargetHealth,TargetGroups,LoadBalancers,
 *    LoadBalancerAttributes,TargetGroupAttributes}
 *                                     an API with `targetGroups`
 *  - s3:PutObject                    store.url: the round objects, only under the prefix
 * `--report` prints the reader's policy for a shared store instead:
 * s3:GetObject on the prefix and s3:ListBucket conditioned on it.
 * EMF mode needs nothing here: the lines go to stdout, and the awslogs driver
 * (ECS: the task *execution* role's logs:CreateLogStream/PutLogEvents) or
 * Lambda's own log permissions deliver them.
 *
 * GetMetricData, the X-Ray reads and the ELBv2 Describe* calls do not support
 * resource-level permissions, hence `Resource: "*"` for them (IAM Service
 * Authorization Reference); PutMetricData is scoped with its namespace
 * condition key instead.
 */
import type { Config } from "../config/schema.js";
import { parseS3Url } from "../record/s3/layout.js";
import { alarmPrefix } from "./alarms/names.js";
import { dashboardNameFor } from "./dashboard/build.js";

export interface IamStatement {
  Sid: string;
  Effect: "Allow";
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface IamPolicyDocument {
  Version: "2012-10-17";
  Statement: IamStatement[];
}

export interface IamPolicyResult {
  /** The policy; `Statement` is empty when the config needs no AWS permission. */
  policy: IamPolicyDocument;
  /** One line per statement (what it is for) and per feature that needs none. */
  notes: string[];
}

export const ELBV2_DESCRIBE_ACTIONS = [
  "elasticloadbalancing:DescribeTargetHealth",
  "elasticloadbalancing:DescribeTargetGroups",
  "elasticloadbalancing:DescribeLoadBalancers",
  "elasticloadbalancing:DescribeLoadBalancerAttributes",
  "elasticloadbalancing:DescribeTargetGroupAttributes",
] as const;

/** Exactly what src/aws/xray/fetch.ts calls (test/integration/iam-calls.test.ts keeps it so). */
export const XRAY_READ_ACTIONS = ["xray:BatchGetTraces"] as const;

type PolicyConfig = Pick<Config, "apis" | "cloudwatch" | "xray" | "aws" | "alarms"> & {
  store?: Pick<Config["store"], "url">;
};

/** The ARNs a shared S3 store (store.url) needs: its objects, and its bucket for listing under the prefix. */
export function s3StoreArns(url: string): { objects: string; bucket: string; prefix: string } {
  const { bucket, prefix } = parseS3Url(url);
  return {
    objects: `arn:aws:s3:::${bucket}/${prefix ? `${prefix}/` : ""}*`,
    bucket: `arn:aws:s3:::${bucket}`,
    prefix,
  };
}

/**
 * Reading a shared S3 store (`report --from s3://…`, from a laptop or a
 * pipeline): s3:GetObject on the prefix, s3:ListBucket only under it.
 */
export function buildStoreReadPolicy(url: string): IamPolicyResult {
  const arns = s3StoreArns(url);
  const list: IamStatement = {
    Sid: "ListStore",
    Effect: "Allow",
    Action: ["s3:ListBucket"],
    Resource: arns.bucket,
  };
  if (arns.prefix) list.Condition = { StringLike: { "s3:prefix": [`${arns.prefix}/*`] } };
  return {
    policy: {
      Version: "2012-10-17",
      Statement: [
        { Sid: "ReadStore", Effect: "Allow", Action: ["s3:GetObject"], Resource: arns.objects },
        list,
      ],
    },
    notes: [
      `ReadStore / ListStore: report --from ${url} lists the day prefixes and reads the round objects; nothing else in the bucket.`,
    ],
  };
}

/** The runtime policy for the prober (`run`, `daemon`, `report --publish`). */
export function buildIamPolicy(config: PolicyConfig): IamPolicyResult {
  const st: IamStatement[] = [];
  const notes: string[] = [];
  const cw = config.cloudwatch;
  if (cw.enabled && cw.mode === "api") {
    st.push({
      Sid: "PublishMetrics",
      Effect: "Allow",
      Action: ["cloudwatch:PutMetricData"],
      Resource: "*",
      Condition: { StringEquals: { "cloudwatch:namespace": cw.namespace } },
    });
    notes.push(`PublishMetrics: PutMetricData, only into the namespace '${cw.namespace}'.`);
  } else if (cw.enabled && cw.mode === "emf") {
    notes.push(
      "EMF mode needs no permission in this policy: metrics are written to stdout and delivered by the awslogs log driver with the ECS task execution role's logs:CreateLogStream/logs:PutLogEvents (or by Lambda's own log permissions).",
    );
  }
  const evidence = config.apis.some((a) => a.apiGateway !== undefined || (a.targetGroups?.length ?? 0) > 0);
  if (evidence) {
    st.push({
      Sid: "ReadEvidenceMetrics",
      Effect: "Allow",
      Action: ["cloudwatch:GetMetricData"],
      Resource: "*",
    });
    notes.push(
      "ReadEvidenceMetrics: GetMetricData on AWS/ApiGateway and AWS/NetworkELB for the minutes around stalls.",
    );
  }
  if (config.xray.enabled && config.xray.fetchTraces) {
    st.push({ Sid: "ReadStallTraces", Effect: "Allow", Action: [...XRAY_READ_ACTIONS], Resource: "*" });
    notes.push("ReadStallTraces: fetch the X-Ray traces of stalls (the trace ids stallwatch sent).");
  } else if (config.xray.enabled) {
    notes.push(
      "X-Ray headers are sent but traces are not fetched (xray.fetchTraces is false): no X-Ray permission needed.",
    );
  }
  if (config.apis.some((a) => (a.targetGroups?.length ?? 0) > 0)) {
    st.push({ Sid: "ReadTargetHealth", Effect: "Allow", Action: [...ELBV2_DESCRIBE_ACTIONS], Resource: "*" });
    notes.push(
      "ReadTargetHealth: NLB target health each round, plus AZs, node addresses and the cross-zone setting.",
    );
  }
  if (config.store?.url !== undefined) {
    st.push({
      Sid: "WriteStore",
      Effect: "Allow",
      Action: ["s3:PutObject"],
      Resource: s3StoreArns(config.store.url).objects,
    });
    notes.push(
      `WriteStore: PutObject of this prober's round objects under ${config.store.url} (never overwrites: If-None-Match). Reading the fleet's report needs \`iam-policy --report\` (GetObject, ListBucket on the prefix).`,
    );
  }
  if (st.length === 0) notes.push("This configuration makes no AWS call: no policy is needed.");
  return { policy: { Version: "2012-10-17", Statement: st }, notes };
}

export interface DeployPolicyOptions {
  /** Dashboard and alarm names start with this. Default: the CloudWatch namespace. */
  namePrefix?: string;
  /** Default: config.aws.region, else any region. */
  region?: string;
}

/** The policy for `dashboard deploy` / `alarms deploy`, scoped to names starting with the prefix. */
export function buildDeployPolicy(config: PolicyConfig, opts: DeployPolicyOptions = {}): IamPolicyResult {
  // The same names the deployers use: dashboard names cannot hold '/', so a namespace like 'Team/Probes'
  // deploys as 'Team-Probes'; alarms carry the namespace prefix of src/aws/alarms/names.ts.
  const prefix = opts.namePrefix ?? config.cloudwatch.namespace;
  const dashboardPrefix = opts.namePrefix ?? dashboardNameFor(config.cloudwatch.namespace);
  const alarmNamePrefix = opts.namePrefix ?? alarmPrefix(config.cloudwatch.namespace);
  const region = opts.region ?? config.aws.region ?? "*";
  const st: IamStatement[] = [
    {
      Sid: "DeployDashboard",
      Effect: "Allow",
      Action: ["cloudwatch:PutDashboard", "cloudwatch:GetDashboard"],
      Resource: `arn:aws:cloudwatch::*:dashboard/${dashboardPrefix}*`,
    },
    {
      Sid: "DeployAlarms",
      Effect: "Allow",
      // The composite alarm over the series alarms needs PutCompositeAlarm too; alarms
      // are created with Tags (the ownership marker), which needs TagResource.
      Action: [
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:PutCompositeAlarm",
        "cloudwatch:DeleteAlarms",
        "cloudwatch:TagResource",
      ],
      Resource: `arn:aws:cloudwatch:${region}:*:alarm:${alarmNamePrefix}*`,
    },
    { Sid: "ListAlarms", Effect: "Allow", Action: ["cloudwatch:DescribeAlarms"], Resource: "*" },
  ];
  const notes = [
    `DeployDashboard / DeployAlarms: only dashboards and alarms whose names start with '${prefix}'.`,
    "ListAlarms: DescribeAlarms to compare deployed alarms with the config.",
  ];
  if (config.alarms.snsTopicArn !== undefined) {
    notes.push(
      `Alarm actions publish to ${config.alarms.snsTopicArn} as CloudWatch, not as the caller: no sns: permission here; an encrypted topic's KMS key policy must let cloudwatch.amazonaws.com use the key.`,
    );
  }
  return { policy: { Version: "2012-10-17", Statement: st }, notes };
}
