/**
 * The diagnosis reads the run's columnar store (src/record/columns.ts) the
 * way it reads records held as objects: the same findings, attribution,
 * verdict and notes for every fault scenario, while materializing only a few
 * rows (resets and failed requests), never every record.
 */
import { describe, expect, it } from "vitest";
import { diagnose } from "../../src/diagnose/diagnose.js";
import { detectStalls } from "../../src/diagnose/stalls.js";
import type { Detector } from "../../src/diagnose/types.js";
import { RecordStore } from "../../src/record/columns.js";
import * as S from "../fixtures/records/scenarios.js";

const SCENARIOS: Array<[string, (seed: number) => S.Scenario]> = [
  ["dns", (s) => S.dnsTimeoutScenario(s)],
  ["syn", (s) => S.synRetransmitScenario(s)],
  ["tls", (s) => S.tlsScenario(s)],
  ["slow backend", (s) => S.slowBackendScenario(s)],
  ["periodic", (s) => S.periodicScenario(s)],
  ["address skew", (s) => S.addressSkewScenario(s)],
  ["route", (s) => S.routeSpecificScenario(s)],
  ["cold start", (s) => S.coldStartScenario(s, 120_000)],
  ["stale reset", (s) => S.staleResetScenario(s)],
  ["stale stall", (s) => S.staleStallScenario(s)],
  ["timeout", (s) => S.timeoutScenario(s)],
  ["client lag", (s) => S.clientLagScenario(s)],
  ["random", (s) => S.randomStallScenario(s)],
];

describe("diagnosis over the columnar store", () => {
  for (const [name, build] of SCENARIOS) {
    it(`${name}: same diagnosis as over record objects, few rows materialized`, () => {
      for (const seed of [1, 2, 3]) {
        const { records } = build(seed);
        const fromArray = diagnose({ records, stalls: detectStalls(records) });
        const store = RecordStore.of(records);
        const stalls = detectStalls(store);
        expect(stalls.map((s) => s.record)).toEqual(detectStalls(records).map((s) => s.record));
        const afterStalls = store.materialized;
        expect(afterStalls).toBe(stalls.length);
        const fromStore = diagnose({ records: store, stalls });
        expect(fromStore).toEqual(fromArray);
        const failed = records.filter((r) => !r.ok).length;
        // Resets (stale-connection) and a finding's failures (verdict): each at most once per reader.
        expect(store.materialized - afterStalls).toBeLessThanOrEqual(2 * failed);
        expect(store.materialized).toBeLessThan(records.length);
      }
    });
  }

  it("the adapter for unmigrated detectors still hands them every probe record, in seq order", () => {
    const { records } = S.periodicScenario(1);
    const store = RecordStore.of([...records].reverse());
    let seen: number[] = [];
    const legacy: Detector = {
      id: "legacy-test",
      detect(input) {
        seen = input.records.map((r) => r.seq);
        return {};
      },
    };
    diagnose({ records: store, stalls: detectStalls(store) }, [legacy]);
    expect(seen).toEqual(records.filter((r) => r.tag !== "keep-warm").map((r) => r.seq));
    expect(store.materialized).toBeGreaterThanOrEqual(records.length);
  });
});
