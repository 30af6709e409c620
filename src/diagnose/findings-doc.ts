/**
 * Renders docs/findings.md from the finding registry, so the documentation
 * cannot drift from the ids the engine raises (a unit test compares them;
 * `UPDATE_DOCS=1 npx vitest run test/unit/diagnose-registry.test.ts` rewrites it).
 */
import { PERIODIC_MIN_SAMPLES } from "./detectors/periodic-stall.js";
import { FINDINGS, roleOf, UNEXPLAINED } from "./registry.js";
import { GAP_BOUNDARIES_MS } from "./split.js";

/** The statistical findings: the Bonferroni factor diagnose.ts applies to each one's significance level. */
const STATISTICAL = FINDINGS.filter((f) => f.kind === "statistical");

export function renderFindingsDoc(): string {
  const lines: string[] = [
    "# Findings",
    "",
    "<!-- Generated from src/diagnose/registry.ts by src/diagnose/findings-doc.ts. Do not edit by hand. -->",
    "",
    "Every stall stallwatch sees is attributed to exactly one cause: the most specific cause finding that",
    "explains it (lowest precedence number below). A stall no finding explains has the cause `" +
      UNEXPLAINED +
      "`.",
    "Causes are ranked by the stalls they explain × their confidence (high 3, medium 2, low 1); the top one is",
    "the report's **verdict**: the phase, the hop, the place (target, AZ, address, route), the mechanism, the",
    "evidence of every source that agrees and the next step, with the other causes and the explanations ruled",
    "out (and why).",
    "",
    "Each finding carries `id`, `summary` (one line with numbers), `stalls` (the seq numbers of exactly the",
    'stalls whose cause it is: every "explains N of M" in every output is this count), `failures` (failed',
    "requests it explains, when any), `confidence`, `evidence` (the numbers, the test used and its p-value;",
    "`alsoFits` counts stalls it fits that went to a more specific cause) and `nextStep`.",
    "",
    "Evidence findings (role `evidence`: the X-Ray breakdowns) say where a stall's time went without saying",
    "why. They never take a stall; they are listed beside the verdict and raise its confidence by one step",
    "when they cover at least half of its stalls. A cause whose stalls all went to the verdict's cause is",
    "folded into the verdict as corroboration.",
    "",
    "## No false alarms",
    "",
    "- Signature findings need the stall itself to carry the signature (phase and duration), so a healthy",
    "  target with ordinary jitter, which has no stalls, raises none.",
    "- Statistical findings are tested at p < 0.01 family-wise: Bonferroni over every comparison a finding",
    `  tries and over the statistical findings themselves (${STATISTICAL.length}, so each must reach p < ${Number((0.01 / STATISTICAL.length).toPrecision(3))} after its own`,
    "  correction). They also need a minimum effect size (a stall rate at least 3 × the comparison group's)",
    "  and stay silent below their minimum sample sizes, saying so in the diagnosis notes (e.g. `too few",
    "  samples for periodicity",
    `  test (…): n=12 < ${PERIODIC_MIN_SAMPLES}\`).`,
    "- Keep-warm pings are kept out of the statistics.",
    "",
    "| id | title | kind | role | hop | precedence |",
    "|---|---|---|---|---|---|",
    ...FINDINGS.map(
      (f) =>
        `| \`${f.id}\` | ${f.title} | ${f.kind} | ${roleOf(f.id)} | ${f.hop ?? "-"} | ${roleOf(f.id) === "cause" ? f.precedence : "-"} |`,
    ),
    "",
  ];
  for (const f of FINDINGS) {
    lines.push(`## \`${f.id}\`: ${f.title}`, "", f.description, "", `Minimum evidence: ${f.minimums}`, "");
  }
  lines.push(
    "## Idle-gap split points",
    "",
    "`cold-start-after-idle` and the stall part of `stale-connection` try these boundaries (gap ≥ boundary",
    "against gap < boundary), counting boundaries that give the same partition once:",
    GAP_BOUNDARIES_MS.map((ms) =>
      ms < 60_000 ? `${ms / 1000} s` : ms < 3_600_000 ? `${ms / 60_000} min` : `${ms / 3_600_000} h`,
    ).join(", ") + ".",
    "The keep-warm interval named in the next step is 5 min when stalls begin only after more than 5 min idle,",
    "otherwise the largest of 10 s, 15 s, 30 s, 1, 2, 3, 4 min below 80 % of the gap where stalls begin.",
    "",
    "## Adding a finding",
    "",
    "Append an entry to `FINDINGS` in src/diagnose/registry.ts, write a detector",
    "(src/diagnose/detectors/<id>.ts, implementing `Detector` from src/diagnose/types.ts), add it to",
    "`DEFAULT_DETECTORS`, and regenerate this file.",
    "",
  );
  return lines.join("\n");
}
