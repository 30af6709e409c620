/**
 * `stallwatch dashboard print|deploy -c FILE [--dry-run]`. print: the
 * DashboardBody JSON on stdout. deploy: only what changed; --dry-run shows
 * it without changing anything. Logs Insights log group: STALLWATCH_LOG_GROUP,
 * default /stallwatch.
 */
import { AwsClients } from "../aws/clients.js";
import { buildDashboard, DEFAULT_LOG_GROUP } from "../aws/dashboard/build.js";
import { formatChanges } from "../aws/dashboard/changes.js";
import { deployDashboard } from "../aws/dashboard/deploy.js";
import { loadConfig } from "../config/load.js";
import { type CommandIo, checkAction, type DeployCommandOptions, regionFor } from "./deploy-io.js";

export async function dashboardCommand(
  action: string,
  opts: DeployCommandOptions,
  io: CommandIo = {},
): Promise<void> {
  const what = checkAction("dashboard", action, opts);
  const stdout = io.stdout ?? process.stdout;
  const env = io.env ?? process.env;
  const { config, targets } = await loadConfig(opts.config);
  const region = regionFor(config, env);
  const built = buildDashboard({
    config,
    targets,
    region,
    logGroupName: env.STALLWATCH_LOG_GROUP || DEFAULT_LOG_GROUP,
  });
  if (what === "print") {
    stdout.write(`${JSON.stringify(built.body, null, 2)}\n`);
    return;
  }
  const clients = new AwsClients({ region });
  try {
    const result = await deployDashboard(await clients.cloudWatch(), built, { dryRun: opts.dryRun ?? false });
    stdout.write(formatChanges(result));
  } finally {
    await clients.destroy();
  }
}
