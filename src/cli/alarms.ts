/**
 * `stallwatch alarms print|deploy -c FILE [--dry-run]`. print: the
 * PutMetricAlarm / PutCompositeAlarm inputs as JSON on stdout. deploy: only
 * what changed, stale stallwatch alarms of the namespace deleted; --dry-run
 * shows it without changing anything.
 */
import { buildAlarms } from "../aws/alarms/build.js";
import { deployAlarms } from "../aws/alarms/deploy.js";
import { AwsClients } from "../aws/clients.js";
import { formatChanges } from "../aws/dashboard/changes.js";
import { loadConfig } from "../config/load.js";
import { type CommandIo, checkAction, type DeployCommandOptions, regionFor } from "./deploy-io.js";

export async function alarmsCommand(
  action: string,
  opts: DeployCommandOptions,
  io: CommandIo = {},
): Promise<void> {
  const what = checkAction("alarms", action, opts);
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const { config, targets } = await loadConfig(opts.config);
  const built = buildAlarms({ config, targets });
  for (const w of built.warnings) stderr.write(`stallwatch: warning: ${w}\n`);
  if (what === "print") {
    const doc = { metricAlarms: built.metricAlarms, compositeAlarms: built.compositeAlarms };
    stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    return;
  }
  const clients = new AwsClients({ region: regionFor(config, env) });
  try {
    const result = await deployAlarms(await clients.cloudWatch(), built, { dryRun: opts.dryRun ?? false });
    stdout.write(formatChanges(result));
  } finally {
    await clients.destroy();
  }
}
