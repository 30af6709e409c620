/**
 * Stalls counted while a run is in flight, for the progress bar. The report's
 * stall list is decided after the run, over every request of a series; during
 * the run a series' lower quartile is only known once it has a few requests,
 * so until then a request is held to the floor (or to `stallMs` when set).
 * Requests that hit their deadline count as stalls, as in the report.
 */
import { RunningQuantile } from "../diagnose/running-quantile.js";
import { type StallRule, TIMEOUT_CODES } from "../diagnose/stalls.js";
import { type RequestRecord, seriesId } from "../model.js";

/** Successful requests a series needs before its lower quartile is used. */
export const MIN_SAMPLES_FOR_QUARTILE = 4;

export interface LiveStallCounter {
  /** Adds a finished request; true when it counts as a stall. */
  add(r: RequestRecord): boolean;
  readonly stalls: number;
}

export function createLiveStallCounter(rule: StallRule): LiveStallCounter {
  const quartiles = new Map<string, RunningQuantile>();
  let stalls = 0;
  return {
    add(r) {
      if (r.tag !== "probe") return false;
      const total = r.phasesMs.total;
      if (total === undefined) return false;
      const id = seriesId(r);
      let q = quartiles.get(id);
      let threshold = rule.stallMs ?? rule.stallFloorMs;
      if (rule.stallMs === undefined && q && q.count >= MIN_SAMPLES_FOR_QUARTILE) {
        threshold = Math.max(rule.stallFloorMs, rule.stallFactor * q.value());
      }
      if (r.ok) {
        if (!q) {
          q = new RunningQuantile(0.25);
          quartiles.set(id, q);
        }
        q.add(total);
      }
      const stall = (r.error !== undefined && TIMEOUT_CODES.has(r.error.code)) || total > threshold;
      if (stall) stalls++;
      return stall;
    },
    get stalls() {
      return stalls;
    },
  };
}
