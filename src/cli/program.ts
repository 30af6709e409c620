/**
 * stallwatch command line. This file declares commands and flags only; each
 * command's module is imported lazily when it runs, so `stallwatch --help`
 * loads neither undici nor the AWS SDK.
 *
 * Exit codes: 0 all good; 1 assertions failed (or stalls beyond the budget);
 * 2 usage or configuration error.
 */
import { readFileSync } from "node:fs";
import { Command, Option } from "commander";
import { catchEarlySignals } from "../schedule/signals.js";

export const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function buildProgram(): Command {
  const program = new Command("stallwatch")
    .description(
      "Find out where the seconds go when an HTTP API behind AWS API Gateway is sometimes slow.\n" +
        "Times every phase of every request, keeps HdrHistograms, and names the cause of stalls.",
    )
    .version(pkg.version)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();

  program
    .command("report")
    .description("Probe now (or read recorded history) and print a latency report with stall diagnosis")
    .option("-c, --config <file>", "configuration file (see config.example.json)")
    .option(
      "--route <name=baseUrl>",
      "a route to probe (repeatable); with --path instead of a config",
      collect,
    )
    .option("--path <path>", "an endpoint path to probe on every route (repeatable)", collect)
    .option("--url <url>", "a single URL to probe")
    .option("-n, --count <n>", "samples per route × endpoint × connection mode")
    .option("--concurrency <n>", "requests in flight at once")
    .option(
      "--rate <perS>",
      "send at a fixed rate (requests/s) instead of back-to-back; corrects coordinated omission",
    )
    .addOption(new Option("--connection <mode>", "connection handling").choices(["fresh", "reuse", "both"]))
    .option("--stall-ms <ms>", "absolute stall threshold (default: 5 × the series median, at least 250 ms)")
    .option("--timeout-ms <ms>", "hard deadline per request, all phases")
    .option(
      "--resolve <host:port:address>",
      "pin a name to an address, as curl --resolve (repeatable)",
      collect,
    )
    .option("--lab [scenario]", "probe an in-process lab (default scenario: bad-target)")
    .option("--from <dir>", "report over recorded history in a store directory instead of probing")
    .option("--since <time>", "with --from: start, e.g. 24h, 30m, or an ISO time", "24h")
    .option("--until <time>", "with --from: end, ISO time or relative (default: now)")
    .option("--json", "print one JSON document (see docs/report-json.md)")
    .option("--html <file>", "also write a self-contained HTML report (works offline)")
    .option("--histograms", "with --json: include encoded histograms per series and phase")
    .option("--no-progress", "no progress bar on stderr")
    .option(
      "--publish",
      "publish the run's metrics to CloudWatch (config cloudwatch settings; one line on stderr says what was sent)",
    )
    .action(async (opts) => (await import("./report.js")).reportCommand(opts));

  program
    .command("run")
    .description(
      "One scheduled probe round: probe, record to the store, publish, exit (cron / ECS scheduled task)",
    )
    .requiredOption("-c, --config <file>", "configuration file")
    .option("--data-dir <dir>", "store directory (default: config store.dir)")
    .action(async (opts) => {
      // Caught from here on: a SIGTERM while the command loads is a clean stop, not exit 143.
      const early = catchEarlySignals();
      try {
        await (await import("./run.js")).runCommand(opts, early);
      } finally {
        early.release();
      }
    });

  program
    .command("daemon")
    .description("Long-running: probe rounds on the config's cron schedule, keep-warm pings, record, publish")
    .requiredOption("-c, --config <file>", "configuration file")
    .option("--data-dir <dir>", "store directory (default: config store.dir)")
    .option("--lab [scenario]", "run against an in-process lab instead of the config's routes")
    .action(async (opts) => {
      const early = catchEarlySignals();
      try {
        await (await import("./daemon.js")).daemonCommand(opts, early);
      } finally {
        early.release();
      }
    });

  program
    .command("idle-sweep")
    .description("Send requests after controlled idle gaps and report the stall rate per gap")
    .option("-c, --config <file>", "configuration file")
    .option("--url <url>", "a single URL to probe")
    .option("--gaps <list>", "idle gaps, e.g. 0s,30s,1m,2m,5m,10m,15m", "0s,30s,1m,2m,5m,10m,15m")
    .option("--repeats <n>", "requests per gap", "3")
    .option("--lab [scenario]", "sweep an in-process lab (default scenario: cold-start)")
    .option("--json", "print JSON")
    .action(async (opts) => (await import("./idle-sweep.js")).idleSweepCommand(opts));

  program
    .command("lab")
    .description("Run the local simulated API Gateway stack on loopback and print its route URLs")
    .option("--scenario <name>", "scenario (see --list)", "bad-target")
    .option("--list", "list scenarios")
    .action(async (opts) => (await import("./lab.js")).labCommand(opts));

  program
    .command("validate")
    .description("Check a configuration file and its probe suites; print every problem")
    .argument("<file>", "configuration file")
    .action(async (file) => (await import("./validate.js")).validateCommand(file));

  program
    .command("iam-policy")
    .description("Print the least-privilege IAM policy for the features the config enables")
    .requiredOption("-c, --config <file>", "configuration file")
    .option("--deploy", "the policy for deploying dashboards and alarms instead")
    .action(async (opts) => (await import("./iam-policy.js")).iamPolicyCommand(opts));

  program
    .command("dashboard")
    .description("Print or deploy the CloudWatch dashboard built from the config")
    .argument("<action>", "print | deploy")
    .requiredOption("-c, --config <file>", "configuration file")
    .option("--dry-run", "with deploy: show what would change")
    .action(async (action, opts) => (await import("./dashboard.js")).dashboardCommand(action, opts));

  program
    .command("alarms")
    .description("Print or deploy the CloudWatch alarms built from the config")
    .argument("<action>", "print | deploy")
    .requiredOption("-c, --config <file>", "configuration file")
    .option("--dry-run", "with deploy: show what would change")
    .action(async (action, opts) => (await import("./alarms.js")).alarmsCommand(action, opts));

  return program;
}
