/**
 * `alarms deploy`: DescribeAlarms (every alarm under the prefix, both
 * types, all pages), compare each with the wanted one, and apply only the
 * difference, in an order CloudWatch accepts:
 *
 *   1. PutMetricAlarm for new and changed metric alarms
 *   2. PutCompositeAlarm (its rule may name the alarms created in 1)
 *   3. DeleteAlarms for stale composites, then stale metric alarms (a metric
 *      alarm still named in a composite's rule cannot go first)
 *
 * Stale = under the prefix, carrying this namespace's ownership marker, and
 * no longer wanted. A second run changes nothing; a dry run only reads.
 */
import type { CloudWatchClient, CompositeAlarm, MetricAlarm } from "@aws-sdk/client-cloudwatch";
import { type Change, type DeployResult, jsonDiff } from "../dashboard/changes.js";
import { awsCall, type DeployOptions } from "../dashboard/deploy.js";
import type { BuiltAlarms } from "./build.js";
import { canonicalCompositeAlarm, canonicalMetricAlarm } from "./canonical.js";

/** DeleteAlarms takes at most 100 names per call. */
const DELETE_BATCH = 100;

type Client = Pick<CloudWatchClient, "send">;

interface Deployed {
  metric: Map<string, MetricAlarm>;
  composite: Map<string, CompositeAlarm>;
}

async function describeUnderPrefix(client: Client, prefix: string, timeoutMs: number): Promise<Deployed> {
  const { DescribeAlarmsCommand } = await import("@aws-sdk/client-cloudwatch");
  const out: Deployed = { metric: new Map(), composite: new Map() };
  let token: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const input = {
      AlarmNamePrefix: prefix,
      AlarmTypes: ["MetricAlarm", "CompositeAlarm"] as ("MetricAlarm" | "CompositeAlarm")[],
      MaxRecords: 100,
      ...(token ? { NextToken: token } : {}),
    };
    const res = await awsCall("DescribeAlarms", timeoutMs, (abortSignal) =>
      client.send(new DescribeAlarmsCommand(input), { abortSignal }),
    );
    for (const a of res.MetricAlarms ?? []) if (a.AlarmName) out.metric.set(a.AlarmName, a);
    for (const a of res.CompositeAlarms ?? []) if (a.AlarmName) out.composite.set(a.AlarmName, a);
    token = res.NextToken;
    if (!token) break;
  }
  return out;
}

function compare(
  resource: Change["resource"],
  name: string,
  current: object | undefined,
  wanted: object,
  canon: (a: object) => object,
): Change {
  if (current === undefined) return { action: "create", resource, name };
  const diff = jsonDiff(canon(current), canon(wanted));
  return diff.length === 0
    ? { action: "unchanged", resource, name }
    : { action: "update", resource, name, diff };
}

/** What deploying `built` would change, without changing it. */
export async function planAlarms(
  client: Client,
  built: BuiltAlarms,
  opts: DeployOptions = {},
): Promise<Change[]> {
  const deployed = await describeUnderPrefix(client, built.prefix, opts.callTimeoutMs ?? 30_000);
  const changes: Change[] = [];
  const wanted = new Set<string>();
  for (const m of built.metricAlarms) {
    const name = m.AlarmName ?? "";
    wanted.add(name);
    changes.push(compare("metric-alarm", name, deployed.metric.get(name), m, canonicalMetricAlarm));
  }
  for (const c of built.compositeAlarms) {
    const name = c.AlarmName ?? "";
    wanted.add(name);
    changes.push(compare("composite-alarm", name, deployed.composite.get(name), c, canonicalCompositeAlarm));
  }
  const owned = (d: string | undefined): boolean => (d ?? "").trimEnd().endsWith(built.marker);
  for (const [name, a] of deployed.composite) {
    if (!wanted.has(name) && owned(a.AlarmDescription))
      changes.push({ action: "delete", resource: "composite-alarm", name });
  }
  for (const [name, a] of deployed.metric) {
    if (!wanted.has(name) && owned(a.AlarmDescription))
      changes.push({ action: "delete", resource: "metric-alarm", name });
  }
  return changes;
}

/** Deploys the alarms: only what changed (or only reports, with dryRun). */
export async function deployAlarms(
  client: Client,
  built: BuiltAlarms,
  opts: DeployOptions = {},
): Promise<DeployResult> {
  const dryRun = opts.dryRun ?? false;
  const timeoutMs = opts.callTimeoutMs ?? 30_000;
  const changes = await planAlarms(client, built, opts);
  if (dryRun) return { dryRun, changes, applied: 0 };
  const { PutMetricAlarmCommand, PutCompositeAlarmCommand, DeleteAlarmsCommand } = await import(
    "@aws-sdk/client-cloudwatch"
  );
  const todo = (resource: Change["resource"], action: Change["action"]): Set<string> =>
    new Set(changes.filter((c) => c.resource === resource && c.action === action).map((c) => c.name));
  const put = (resource: Change["resource"]): Set<string> =>
    new Set([...todo(resource, "create"), ...todo(resource, "update")]);
  let applied = 0;
  const putMetric = put("metric-alarm");
  for (const m of built.metricAlarms) {
    if (!putMetric.has(m.AlarmName ?? "")) continue;
    await awsCall("PutMetricAlarm", timeoutMs, (abortSignal) =>
      client.send(new PutMetricAlarmCommand(m), { abortSignal }),
    );
    applied++;
  }
  const putComposite = put("composite-alarm");
  for (const c of built.compositeAlarms) {
    if (!putComposite.has(c.AlarmName ?? "")) continue;
    await awsCall("PutCompositeAlarm", timeoutMs, (abortSignal) =>
      client.send(new PutCompositeAlarmCommand(c), { abortSignal }),
    );
    applied++;
  }
  for (const resource of ["composite-alarm", "metric-alarm"] as const) {
    const names = [...todo(resource, "delete")];
    for (let i = 0; i < names.length; i += DELETE_BATCH) {
      const batch = names.slice(i, i + DELETE_BATCH);
      await awsCall("DeleteAlarms", timeoutMs, (abortSignal) =>
        client.send(new DeleteAlarmsCommand({ AlarmNames: batch }), { abortSignal }),
      );
      applied++;
    }
  }
  return { dryRun, changes, applied };
}
