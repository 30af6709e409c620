/**
 * Pass/fail gates from the command line, as CI users know them from k6 and
 * Checkly: `--max-stalls N`, `--max-failures N` and k6-style thresholds such
 * as `p(99)<500` or `ttfb:p(99.9)<=800`, held against every series (api ×
 * route × endpoint × connection) of the report. Pure: parse the flags, then
 * evaluate them against a Report; the result goes into the report itself
 * (`gates`) and decides the exit code.
 */
import { UsageError } from "../errors.js";
import {
  type GateResult,
  PHASES,
  type Phase,
  type PhaseStats,
  type Report,
  type SeriesReport,
} from "../model.js";
import { decodeHistogram } from "../record/histograms.js";

/** A statistic a threshold can name, and the PhaseStats field it reads. */
const STATS: Record<string, keyof PhaseStats> = {
  "p(50)": "p50",
  med: "p50",
  "p(90)": "p90",
  "p(99)": "p99",
  "p(99.9)": "p999",
  avg: "mean",
  max: "max",
};

const OPS = {
  "<": (a: number, b: number) => a < b,
  "<=": (a: number, b: number) => a <= b,
  ">": (a: number, b: number) => a > b,
  ">=": (a: number, b: number) => a >= b,
} as const;
type Op = keyof typeof OPS;

export interface Threshold {
  /** As given, e.g. `ttfb:p(99)<300`. */
  expr: string;
  phase: Phase;
  stat: string;
  /** For `p(N)` other than the report's own p50/p90/p99/p99.9 (k6's favourite p(95)): read from the histograms. */
  percentile?: number;
  op: Op;
  limitMs: number;
}

export interface GateSpec {
  maxStalls?: number;
  maxFailures?: number;
  thresholds: Threshold[];
}

const THRESHOLD_RE =
  /^(?:([a-z]+):)?\s*(p\(\d+(?:\.\d+)?\)|med|avg|max)\s*(<=|>=|<|>)\s*(\d+(?:\.\d+)?)\s*(ms)?$/;

export function parseThreshold(expr: string): Threshold {
  const m = THRESHOLD_RE.exec(expr.trim());
  const expected =
    "expected [phase:]stat<ms, stat p(N) with 0 < N ≤ 100 (e.g. p(95)), med, avg or max; phase one of " +
    `${PHASES.join(", ")} (default total); e.g. 'p(99)<500' or 'ttfb:p(90)<=200'`;
  if (!m) throw new UsageError(`--threshold ${JSON.stringify(expr)}: ${expected}`);
  const [, phase = "total", stat = "", op = "<", limit = ""] = m;
  const pct = /^p\((.+)\)$/.exec(stat)?.[1];
  const percentile = pct === undefined || stat in STATS ? undefined : Number(pct);
  if (
    !(PHASES as readonly string[]).includes(phase) ||
    (percentile !== undefined && !(percentile > 0 && percentile <= 100))
  ) {
    throw new UsageError(`--threshold ${JSON.stringify(expr)}: ${expected}`);
  }
  return {
    expr: expr.trim(),
    phase: phase as Phase,
    stat,
    op: op as Op,
    limitMs: Number(limit),
    ...(percentile !== undefined ? { percentile } : {}),
  };
}

function count(flag: string, v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === "number" ? v : v.trim() === "" ? Number.NaN : Number(v);
  if (!Number.isInteger(n) || n < 0) {
    throw new UsageError(`${flag}: expected a whole number ≥ 0, received ${JSON.stringify(v)}`);
  }
  return n;
}

/** The gates the flags ask for, or undefined when none was given. Throws UsageError for a bad flag. */
export function parseGates(flags: {
  maxStalls?: string | number;
  maxFailures?: string | number;
  threshold?: string[];
}): GateSpec | undefined {
  const spec: GateSpec = { thresholds: (flags.threshold ?? []).map(parseThreshold) };
  const maxStalls = count("--max-stalls", flags.maxStalls);
  const maxFailures = count("--max-failures", flags.maxFailures);
  if (maxStalls !== undefined) spec.maxStalls = maxStalls;
  if (maxFailures !== undefined) spec.maxFailures = maxFailures;
  if (maxStalls === undefined && maxFailures === undefined && spec.thresholds.length === 0) return undefined;
  return spec;
}

/** True when a threshold needs a percentile the report does not carry: the report must be built with histograms. */
export function needsHistograms(spec: GateSpec | undefined): boolean {
  return spec?.thresholds.some((t) => t.percentile !== undefined) === true;
}

/** The p-th percentile (ms) of a series' phase from its encoded histogram, as statsOf computes the fixed ones. */
function percentileOf(s: SeriesReport, phase: Phase, p: number): number {
  const encoded = s.histograms?.[phase];
  if (encoded === undefined) {
    throw new UsageError(
      `--threshold p(${p}): the report has no histograms to read it from (build it with histograms)`,
    );
  }
  return Math.round(decodeHistogram(encoded).getValueAtPercentile(p)) / 1000;
}

export function seriesLabel(s: Pick<SeriesReport, "api" | "route" | "endpoint" | "connection">): string {
  return `${s.api} ${s.route} ${s.endpoint} ${s.connection}`;
}

/** Every gate's result against the report: run totals for counts, one result per series for thresholds. */
export function evaluateGates(report: Report, spec: GateSpec): GateResult[] {
  const out: GateResult[] = [];
  if (spec.maxStalls !== undefined) {
    const actual = report.totals.stalls;
    out.push({
      gate: `--max-stalls ${spec.maxStalls}`,
      passed: actual <= spec.maxStalls,
      actual,
      limit: spec.maxStalls,
    });
  }
  if (spec.maxFailures !== undefined) {
    const actual = report.totals.failed;
    out.push({
      gate: `--max-failures ${spec.maxFailures}`,
      passed: actual <= spec.maxFailures,
      actual,
      limit: spec.maxFailures,
    });
  }
  for (const t of spec.thresholds) {
    for (const s of report.series) {
      const stats = s.latencyMs[t.phase];
      if (!stats || stats.count === 0) continue; // a phase that never happened in this series (DNS on reuse)
      const actual =
        t.percentile !== undefined
          ? percentileOf(s, t.phase, t.percentile)
          : stats[STATS[t.stat] as keyof PhaseStats];
      out.push({
        gate: `--threshold ${t.expr}`,
        passed: OPS[t.op](actual, t.limitMs),
        series: seriesLabel(s),
        actual,
        limit: t.limitMs,
      });
    }
  }
  return out;
}

/**
 * The exit code: 1 when a gate failed; without a failure gate, any failed
 * request still fails the run (as before), and without a stall gate the
 * config's `probe.stallBudget` applies.
 */
export function gatedExitCode(
  report: Report,
  spec: GateSpec | undefined,
  stallBudget: number | undefined,
): number {
  if (report.gates?.some((g) => !g.passed)) return 1;
  if (spec?.maxFailures === undefined && report.totals.failed > 0) return 1;
  if (spec?.maxStalls === undefined && stallBudget !== undefined && report.totals.stalls > stallBudget)
    return 1;
  return 0;
}
