/**
 * The layers of src/ and which way they may import, checked by `npm run check`
 * (`depcruise src`). CONTRIBUTING.md ("Layers") says the same in words.
 *
 * Bottom to top:
 *   model + base   src/model.ts, src/model/, clock, duration, errors, redact, stall-rule-text, system/
 *   config         schema, loading, targets
 *   record, probe  storage and histograms; the prober
 *   diagnose, aws  stall rule and detectors; AWS fetchers and senders (siblings: neither imports the other)
 *   report, lab    reporters; the simulated stack
 *   schedule, metrics
 *   app            pipelines shared by commands
 *   cli            one file per command
 *   index.ts       the public library entry (re-exports; imported by nobody inside src/)
 *
 * A layer imports only downward; the model imports nothing. Type-only imports
 * count (tsPreCompilationDeps): a type shared across layers belongs lower down.
 */

/** `^src/(a|b)/` for folder layers. */
const dirs = (...names) => `^src/(${names.join("|")})/`;

/** A rule: files matching `from` may not import files matching `to`. */
const layer = (name, comment, from, to) => ({
  name,
  comment,
  severity: "error",
  from: { path: from },
  to: { path: to },
});

const BASE =
  "^src/(model\\.ts|model/|clock\\.ts|duration\\.ts|errors\\.ts|redact\\.ts|stall-rule-text\\.ts|system/)";

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "No import cycles in src/, type-only imports included: a cycle means two files are one layer.",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "model-is-the-bottom",
      comment:
        "The model and the base utilities (clock, duration, errors, redact, stall-rule-text, system/) import nothing above them.",
      severity: "error",
      from: { path: BASE },
      to: { path: "^src/", pathNot: BASE },
    },
    layer(
      "nothing-imports-cli",
      "cli/ is the top: one file per command; nothing below imports a command.",
      "^src/(?!cli/)",
      dirs("cli"),
    ),
    layer(
      "index-is-for-outside",
      "src/index.ts is the public library entry: it re-exports, and nothing inside src/ imports it.",
      "^src/",
      "^src/index\\.ts$",
    ),
    layer(
      "only-cli-imports-app",
      "app/ holds the pipelines the commands share; only cli/ imports it.",
      "^src/(?!(cli|app)/)",
      dirs("app"),
    ),
    layer(
      "config-above-model-only",
      "config/ (schema, loading, targets) sits right above the model: probe and every other layer read it, it reads none of them.",
      dirs("config"),
      dirs("probe", "record", "diagnose", "aws", "report", "lab", "schedule", "metrics"),
    ),
    layer(
      "record-below-diagnose",
      "record/ stores and reads records and histograms; it takes stalls as input (a StallDetector), never the diagnosis.",
      dirs("record"),
      dirs("probe", "diagnose", "aws", "report", "lab", "schedule", "metrics"),
    ),
    layer(
      "probe-measures-only",
      "probe/ measures requests; what the measurements mean is decided above it.",
      dirs("probe"),
      dirs("diagnose", "aws", "report", "lab", "schedule", "metrics"),
    ),
    layer(
      "diagnose-reads-evidence-not-sources",
      "diagnose/ reads records, stalls and typed evidence (DiagnoseContext); it never fetches (aws/) or renders (report/).",
      dirs("diagnose"),
      dirs("probe", "aws", "report", "lab", "schedule", "metrics"),
    ),
    layer(
      "aws-fetches-and-sends",
      "aws/ only fetches evidence and sends metrics; detectors live in diagnose/, rendering in report/.",
      dirs("aws"),
      dirs("probe", "diagnose", "report", "lab", "schedule", "metrics"),
    ),
    layer(
      "report-renders",
      "report/ builds and renders the Report from records, stalls and the diagnosis; it probes and fetches nothing.",
      dirs("report"),
      dirs("probe", "aws", "lab", "schedule", "metrics"),
    ),
    layer(
      "lab-is-the-world",
      "lab/ simulates the API stack and AWS endpoints; it does not know how stallwatch measures or diagnoses it.",
      dirs("lab"),
      dirs("probe", "record", "diagnose", "report", "schedule", "metrics"),
    ),
    layer(
      "schedule-below-metrics",
      "schedule/ runs rounds; the Prometheus exporter (metrics/) reads rounds, not the reverse.",
      dirs("schedule"),
      dirs("lab", "metrics"),
    ),
    layer(
      "metrics-exports",
      "metrics/ exports round results; it does not reach into the lab.",
      dirs("metrics"),
      dirs("lab"),
    ),
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".mjs", ".cjs", ".json"],
    },
  },
};
