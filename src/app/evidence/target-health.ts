/**
 * NLB target health as an evidence source: DescribeTargetHealth before the
 * probe (topology the first time), polled during it when the caller asks,
 * and once more after it; the tracker's history (every state change seen)
 * is the evidence the target-unhealthy detector reads. Calls are serialised:
 * a poll and the after() call never overlap.
 */
import type { Elbv2ClientLike, TargetGroupRef } from "../../aws/elbv2/describe.js";
import { TargetHealthMonitor } from "../../aws/elbv2/monitor.js";
import type { LogFn } from "../../aws/metrics/spool.js";
import type { Clock } from "../../clock.js";
import type { TargetGroupTopology } from "../../model.js";
import { summariseTargetHealth } from "../aws-evidence.js";
import { type EvidenceSource, type EvidenceStep, failureText } from "./source.js";

export interface TargetHealthSource extends EvidenceSource {
  /** The target group's topology once a round has fetched it (for the CloudWatch source's AZ dimensions). */
  topology(targetGroupArn: string): TargetGroupTopology | undefined;
}

export function targetHealthSource(
  client: () => Promise<Elbv2ClientLike>,
  groups: readonly TargetGroupRef[],
  opts: { log: LogFn; clock?: Clock },
): TargetHealthSource {
  const log = opts.log;
  let monitor: TargetHealthMonitor | undefined;
  let call: Promise<unknown> = Promise.resolve();

  /** One DescribeTargetHealth round; failures as notes. */
  const round = (): Promise<EvidenceStep> => {
    const run = call.then(async (): Promise<EvidenceStep> => {
      try {
        monitor ??= new TargetHealthMonitor(await client(), groups, opts.clock ? { clock: opts.clock } : {});
        const r = await monitor.round();
        for (const f of r.failures) log("warn", "target health: AWS call failed", { ...f });
        for (const t of r.transitions)
          log("info", "target health changed", {
            targetGroupArn: t.targetGroupArn,
            targetId: t.targetId,
            from: t.from,
            to: t.to,
            reason: t.reason,
          });
        return { notes: r.failures.map((f) => `target health: ${failureText(f)}`), failures: r.failures };
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        log("error", "target health round failed", { error: msg });
        return { notes: [`target health: ${msg}`], failures: [] };
      }
    });
    call = run.catch(() => undefined);
    return run;
  };

  return {
    name: "target-health",
    before: round,
    async during() {
      await round();
    },
    async after(run) {
      const out = await round();
      if (!monitor) return out;
      const ev = monitor.evidence();
      out.evidence = { targetHealth: ev };
      let from = Number.POSITIVE_INFINITY;
      let to = Number.NEGATIVE_INFINITY;
      for (const r of run.records) {
        from = Math.min(from, r.atMs);
        to = Math.max(to, r.atMs + (r.phasesMs.total ?? 0));
      }
      if (run.records.length > 0) out.notes.push(...summariseTargetHealth(ev, from, to));
      return out;
    },
    topology: (arn) => monitor?.topology(arn),
    async close() {
      await call;
    },
  };
}
