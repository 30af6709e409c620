/**
 * The lab as used by `report --lab`, `daemon --lab`, `idle-sweep --lab`, `lab`
 * and `npm start`: started in a worker thread so its work never lands in the
 * prober's event loop, with probe defaults chosen so the demo shows its
 * stalls within a minute.
 */
import type { ProbeFlags } from "../config/flags.js";
import { UsageError } from "../errors.js";
import { SCENARIOS, type ScenarioName, type ScenarioProbePlan, type ScenarioTimings } from "../lab/index.js";
import { type RemoteLab, startLabInWorker } from "../lab/remote.js";

export async function startDemoLab(scenario: string, timings?: Partial<ScenarioTimings>): Promise<RemoteLab> {
  if (!SCENARIOS.some((s) => s.name === scenario)) {
    throw new UsageError(
      `unknown lab scenario '${scenario}' (expected one of: ${SCENARIOS.map((s) => s.name).join(", ")})`,
    );
  }
  return startLabInWorker({ scenario: scenario as ScenarioName, ...(timings ? { timings } : {}) });
}

/** How the scenario must be probed, when back-to-back requests would hide its fault. */
export function scenarioProbePlan(scenario: string): ScenarioProbePlan | undefined {
  return SCENARIOS.find((s) => s.name === scenario)?.probe;
}

/** Probe defaults for a lab run; the user's flags override them. */
export function labDemoDefaults(scenario: string, fixedRate = false): ProbeFlags {
  const plan = scenarioProbePlan(scenario);
  // A concurrency sweep's most in flight at once is its largest step; idle gaps need one at a time.
  if (plan)
    return {
      count: plan.count,
      concurrency: plan.concurrencySteps ? Math.max(1, ...plan.concurrencySteps) : 1,
      connection: plan.connection,
    };
  // --rate and --concurrency are alternatives: with a user's --rate, the demo sets no concurrency.
  const inFlight = fixedRate ? {} : { concurrency: 4 };
  switch (scenario) {
    case "healthy":
      return { count: 40, connection: "both" };
    default:
      // 10 samples × 8 targets × 2 modes at 4 in flight: ~30 s on bad-target, whose stalls last 2 s.
      return { count: 10, ...inFlight, connection: "both" };
  }
}
