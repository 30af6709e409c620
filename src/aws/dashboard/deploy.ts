/**
 * `dashboard deploy`: GetDashboard, compare the deployed body with the built
 * one (as parsed JSON, so key order and whitespace do not count), PutDashboard
 * only when they differ. A second run changes nothing; a dry run only reads.
 * AWS failures become a StallwatchError (SW_AWS) naming the call and the
 * classified cause; every call has a hard deadline.
 */
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { StallwatchError } from "../../errors.js";
import { classifyAwsError, withDeadline } from "../errors.js";
import type { BuiltDashboard } from "./build.js";
import { type Change, type DeployResult, jsonDiff } from "./changes.js";

export interface DeployOptions {
  dryRun?: boolean;
  /** Hard deadline per AWS call, ms. Default 30000. */
  callTimeoutMs?: number;
}

/** Makes one AWS call with a deadline; AWS errors become StallwatchError SW_AWS (exit 1). */
export async function awsCall<T>(
  operation: string,
  timeoutMs: number,
  call: (abortSignal: AbortSignal) => Promise<T>,
): Promise<T> {
  try {
    return await withDeadline(timeoutMs, call);
  } catch (e) {
    const f = classifyAwsError(operation, e);
    throw new StallwatchError(
      "SW_AWS",
      `CloudWatch ${operation} failed (${f.kind}, ${f.code}): ${f.message}`,
      1,
      {
        cause: e,
      },
    );
  }
}

/** The deployed body, or undefined when the dashboard does not exist. */
async function currentBody(
  client: Pick<CloudWatchClient, "send">,
  name: string,
  timeoutMs: number,
): Promise<unknown | undefined> {
  const { GetDashboardCommand } = await import("@aws-sdk/client-cloudwatch");
  try {
    const out = await withDeadline(timeoutMs, (abortSignal) =>
      client.send(new GetDashboardCommand({ DashboardName: name }), { abortSignal }),
    );
    return out.DashboardBody === undefined ? undefined : JSON.parse(out.DashboardBody);
  } catch (e) {
    const f = classifyAwsError("GetDashboard", e);
    if (f.kind === "not-found" || f.code === "ResourceNotFound") return undefined;
    throw new StallwatchError(
      "SW_AWS",
      `CloudWatch GetDashboard failed (${f.kind}, ${f.code}): ${f.message}`,
      1,
      {
        cause: e,
      },
    );
  }
}

/** What deploying `built` would change, without changing it. */
export async function planDashboard(
  client: Pick<CloudWatchClient, "send">,
  built: BuiltDashboard,
  opts: DeployOptions = {},
): Promise<Change> {
  const current = await currentBody(client, built.name, opts.callTimeoutMs ?? 30_000);
  const wanted = JSON.parse(JSON.stringify(built.body)) as unknown;
  if (current === undefined) return { action: "create", resource: "dashboard", name: built.name };
  const diff = jsonDiff(current, wanted);
  return diff.length === 0
    ? { action: "unchanged", resource: "dashboard", name: built.name }
    : { action: "update", resource: "dashboard", name: built.name, diff };
}

/** Deploys the dashboard when it differs (or only reports, with dryRun). */
export async function deployDashboard(
  client: Pick<CloudWatchClient, "send">,
  built: BuiltDashboard,
  opts: DeployOptions = {},
): Promise<DeployResult> {
  const dryRun = opts.dryRun ?? false;
  const timeoutMs = opts.callTimeoutMs ?? 30_000;
  const change = await planDashboard(client, built, opts);
  let applied = 0;
  if (!dryRun && change.action !== "unchanged") {
    const { PutDashboardCommand } = await import("@aws-sdk/client-cloudwatch");
    const input = { DashboardName: built.name, DashboardBody: JSON.stringify(built.body) };
    const out = await awsCall("PutDashboard", timeoutMs, (abortSignal) =>
      client.send(new PutDashboardCommand(input), { abortSignal }),
    );
    applied++;
    const warnings = out.DashboardValidationMessages ?? [];
    if (warnings.length > 0) {
      change.diff = [
        ...(change.diff ?? []),
        ...warnings.map((w) => ({ path: `(validation) ${w.DataPath ?? ""}`, to: w.Message ?? "" })),
      ];
    }
  }
  return { dryRun, changes: [change], applied };
}
