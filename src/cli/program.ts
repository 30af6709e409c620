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
import { STALL_RULE_DEFAULTS, stallRuleText } from "../stall-rule-text.js";

export const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/**
 * Defaults shown in --help. They are the config schema's defaults (a unit
 * test holds them equal); they are not commander defaults, because a flag
 * only overrides a config file's value when the user gives it.
 */
export const HELP_DEFAULTS = {
  count: 20,
  concurrency: 1,
  connection: "both",
  timeoutMs: 15_000,
  metricsPath: "/metrics",
} as const;

/** Two examples under a command's help. */
function examples(cmd: Command, lines: [string, string][]): Command {
  const width = Math.max(...lines.map(([c]) => c.length));
  return cmd.addHelpText(
    "after",
    `\nExamples:\n${lines.map(([c, what]) => `  $ ${c.padEnd(width)}   # ${what}`).join("\n")}`,
  );
}

export function buildProgram(): Command {
  const program = new Command("stallwatch")
    .description(
      "Find out where the seconds go when an HTTP API behind AWS API Gateway is sometimes slow.\n" +
        "Times every phase of every request, keeps HdrHistograms, and names the cause of stalls.",
    )
    .version(pkg.version)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();

  const report = program
    .command("report")
    .description("Probe now (or read recorded history) and print a latency report with stall diagnosis")
    .option("-c, --config <file>", "configuration file (see config.example.json, or stallwatch init)")
    .option(
      "--route <name=baseUrl>",
      "a route to probe (repeatable); with --path instead of a config; http:// when no scheme is given",
      collect,
    )
    .option("--path <path>", "an endpoint path to probe on every route (repeatable)", collect)
    .option("--url <url>", "a single URL to probe; http:// when no scheme is given, as curl")
    .option("-H, --header <line>", "a request header 'Name: value', as curl (repeatable)", collect)
    .option("-X, --method <method>", "request method, as curl (default: GET, or POST with -d)")
    .option(
      "-d, --data <body>",
      "request body, or @file to read it, as curl (Content-Type default: application/x-www-form-urlencoded)",
    )
    .option(
      "-n, --count <n>",
      `samples per route × endpoint × connection mode (default: ${HELP_DEFAULTS.count}, or the config's)`,
    )
    .option("--concurrency <n>", `requests in flight at once (default: ${HELP_DEFAULTS.concurrency})`)
    .option(
      "--rate <perS>",
      "send at a fixed rate (requests/s) instead of back-to-back; corrects coordinated omission",
    )
    .addOption(
      new Option("--connection <mode>", `connection handling (default: ${HELP_DEFAULTS.connection})`).choices(
        ["fresh", "reuse", "both"],
      ),
    )
    .option(
      "--stall-ms <ms>",
      `absolute stall threshold; default: a request is a stall when ${stallRuleText(STALL_RULE_DEFAULTS)}`,
    )
    .option(
      "--timeout-ms <ms>",
      `hard deadline per request, all phases (default: ${HELP_DEFAULTS.timeoutMs})`,
    )
    .option(
      "--resolve <host:port:address>",
      "pin a name to an address, as curl --resolve (repeatable)",
      collect,
    )
    .option("--max-stalls <n>", "exit 1 when the run has more stalls than this (overrides probe.stallBudget)")
    .option("--max-failures <n>", "exit 1 when more requests fail than this (default: any failure exits 1)")
    .option(
      "--threshold <expr>",
      "k6-style gate per series, exit 1 when crossed: [phase:]stat<ms, e.g. 'p(95)<500', 'ttfb:p(99)<=200' (repeatable)",
      collect,
    )
    .option("--lab [scenario]", "probe an in-process lab (default scenario: bad-target)")
    .option(
      "--from <dir|s3://bucket/prefix>",
      "report over recorded history (a store directory or an S3 store prefix; repeatable: merged) instead of probing",
      collect,
    )
    .option(
      "--writer <name>",
      "with --from: only rounds of this writer (prober); NAME* for a prefix; repeatable",
      collect,
    )
    .option("--since <time>", "with --from: start, e.g. 24h, 30m, or an ISO time", "24h")
    .option("--until <time>", "with --from: end, ISO time or relative (default: now)")
    .option("--json", "print one JSON document (see docs/report-json.md)")
    .option("--html <file>", "also write a self-contained HTML report (works offline)")
    .option(
      "--junit <file>",
      "also write JUnit XML: one testcase per series, stalls and failures as failures",
    )
    .option("--csv <file>", "also write one CSV row per request (live runs)")
    .option("--histograms", "with --json: include encoded histograms per series and phase")
    .option("--no-progress", "no progress bar on stderr")
    .option(
      "--publish",
      "publish the run's metrics to CloudWatch (config cloudwatch settings; one line on stderr says what was sent)",
    )
    .action(async (opts) => (await import("./report.js")).reportCommand(opts));
  examples(report, [
    [
      'stallwatch report --url 127.0.0.1:8080/health -H "x-api-key: $KEY" -n 50',
      "one URL, a header, 50 samples",
    ],
    [
      "stallwatch report -c config.json --max-stalls 0 --threshold 'p(99)<500' --junit junit.xml",
      "a CI gate",
    ],
  ]);

  const run = program
    .command("run")
    .description(
      "One scheduled probe round: probe, record to the store, publish, exit (cron / ECS scheduled task)",
    )
    .option("-c, --config <file>", "configuration file (required unless --lab)")
    .option("--data-dir <dir>", "store directory (default: config store.dir, .stallwatch/data)")
    .option("--store-url <s3://bucket/prefix>", "shared S3 store (default: config store.url)")
    .option("--lab [scenario]", "probe an in-process lab instead of the config's APIs (default: bad-target)")
    .action(async (opts) => {
      // Caught from here on: a SIGTERM while the command loads is a clean stop, not exit 143.
      const early = catchEarlySignals();
      try {
        await (await import("./run.js")).runCommand(opts, early);
      } finally {
        early.release();
      }
    });
  examples(run, [
    ["stallwatch run -c config.json", "one round of the config's APIs"],
    ["stallwatch run --lab bad-target --data-dir /tmp/sw", "one round against the built-in lab"],
  ]);

  const daemon = program
    .command("daemon")
    .description("Long-running: probe rounds on the config's cron schedule, keep-warm pings, record, publish")
    .option("-c, --config <file>", "configuration file (required unless --lab)")
    .option("--data-dir <dir>", "store directory (default: config store.dir, .stallwatch/data)")
    .option("--store-url <s3://bucket/prefix>", "shared S3 store (default: config store.url)")
    .option(
      "--lab [scenario]",
      "run against an in-process lab instead of the config's APIs (default: bad-target)",
    )
    .option(
      "--metrics-listen <host:port>",
      `serve Prometheus/OpenMetrics metrics at http://HOST:PORT${HELP_DEFAULTS.metricsPath} (e.g. 127.0.0.1:9469)`,
    )
    .action(async (opts) => {
      const early = catchEarlySignals();
      try {
        await (await import("./daemon.js")).daemonCommand(opts, early);
      } finally {
        early.release();
      }
    });
  examples(daemon, [
    ["node_modules/.bin/stallwatch daemon -c config.json", "signals reach the daemon itself (not npx)"],
    ["stallwatch daemon --lab bad-target --metrics-listen 127.0.0.1:9469", "the lab, scraped by Prometheus"],
  ]);

  const idleSweep = program
    .command("idle-sweep")
    .description("Send requests after controlled idle gaps and report the stall rate per gap")
    .option("-c, --config <file>", "configuration file")
    .option("--url <url>", "a single URL to probe")
    .option("--gaps <list>", "idle gaps (default 0s,30s,1m,2m,5m,10m,15m; with --lab 0s,1s,2s,2.5s,3.5s)")
    .option("--repeats <n>", "requests per gap per series (default 3; with --lab 5)")
    .option("--lab [scenario]", "sweep an in-process lab (default scenario: cold-start)")
    .option("--json", "print JSON")
    .action(async (opts) => (await import("./idle-sweep.js")).idleSweepCommand(opts));
  examples(idleSweep, [
    [
      "stallwatch idle-sweep --url https://api.example.com/ --gaps 0s,1m,5m",
      "is it a cold start after idle?",
    ],
    ["stallwatch idle-sweep --lab cold-start", "the lab's version, in about a minute"],
  ]);

  const init = program
    .command("init")
    .description("Write a commented starting config for an API, or one from its API Gateway OpenAPI export")
    .option("--from-openapi <file>", "an API Gateway export (Swagger 2.0 or OpenAPI 3, JSON or YAML)")
    .option(
      "--url <baseUrl>",
      "without --from-openapi: the API's base URL (execute-api with its stage, or a domain)",
    )
    .option("--custom-domain <url>", "also probe the API through this custom domain")
    .option("--api-key-env <name>", "environment variable holding the x-api-key (default: <API>_API_KEY)")
    .option("--name <name>", "API name in the config (default: from the export's title, or the host)")
    .option("-o, --output <file>", "write here instead of stdout (never overwrites: remove the file first)")
    .action(async (opts) => (await import("./init.js")).initCommand(opts));
  examples(init, [
    [
      "stallwatch init --url https://abc123.execute-api.us-west-2.amazonaws.com/test -o config.json",
      "a start",
    ],
    [
      "stallwatch init --from-openapi flaskapp-test-oas30.json --custom-domain https://api.example.com",
      "from AWS",
    ],
  ]);

  const lab = program
    .command("lab")
    .description("Run the local simulated API Gateway stack on loopback and print its route URLs")
    .option("--scenario <name>", "scenario (see --list)", "bad-target")
    .option("--list", "list scenarios")
    .action(async (opts) => (await import("./lab.js")).labCommand(opts));
  examples(lab, [
    ["stallwatch lab --list", "the scenarios"],
    ["stallwatch lab --scenario cold-start", "run one until Ctrl-C, then probe its URLs"],
  ]);

  const validate = program
    .command("validate")
    .description("Check a configuration file and its probe suites; print every problem")
    .argument("<file>", "configuration file")
    .action(async (file) => (await import("./validate.js")).validateCommand(file));
  examples(validate, [
    ["stallwatch validate config.example.json", "every problem with its JSON path, exit 2"],
    ["stallwatch init -o config.json && stallwatch validate config.json", "a new config, checked"],
  ]);

  const iam = program
    .command("iam-policy")
    .description("Print the least-privilege IAM policy for the features the config enables")
    .requiredOption("-c, --config <file>", "configuration file")
    .option("--deploy", "the policy for deploying dashboards and alarms instead")
    .option("--report", "the policy for reading the shared S3 store (report --from s3://…) instead")
    .action(async (opts) => (await import("./iam-policy.js")).iamPolicyCommand(opts));
  examples(iam, [
    ["stallwatch iam-policy -c config.json", "for the prober's task role"],
    ["stallwatch iam-policy -c config.json --deploy", "for whoever deploys dashboards and alarms"],
  ]);

  const dashboard = program
    .command("dashboard")
    .description("Print or deploy the CloudWatch dashboard built from the config")
    .argument("<action>", "print | deploy")
    .requiredOption("-c, --config <file>", "configuration file")
    .option("--dry-run", "with deploy: show what would change")
    .action(async (action, opts) => (await import("./dashboard.js")).dashboardCommand(action, opts));
  examples(dashboard, [
    ["stallwatch dashboard print -c config.json", "the DashboardBody JSON"],
    ["stallwatch dashboard deploy -c config.json --dry-run", "what a deploy would change"],
  ]);

  const alarms = program
    .command("alarms")
    .description("Print or deploy the CloudWatch alarms built from the config")
    .argument("<action>", "print | deploy")
    .requiredOption("-c, --config <file>", "configuration file")
    .option("--dry-run", "with deploy: show what would change")
    .action(async (action, opts) => (await import("./alarms.js")).alarmsCommand(action, opts));
  examples(alarms, [
    ["stallwatch alarms print -c config.json", "the alarm definitions"],
    ["stallwatch alarms deploy -c config.json", "idempotent: a second run changes nothing"],
  ]);

  return program;
}
