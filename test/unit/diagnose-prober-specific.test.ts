/** prober-specific over a fleet's history: one writer's requests stall, the other's to the same API do not. */
import { describe, expect, it } from "vitest";
import { addDelay, baseline, Rng } from "../fixtures/records/builders.js";
import { attributed, ids, run } from "../fixtures/records/run.js";

function fleet(seed: number, badShare: number) {
  const records = baseline({ seed, n: 240 });
  const rng = new Rng(seed ^ 0x5eed);
  const faulty: number[] = [];
  for (const r of records) {
    r.writer = r.seq % 2 === 0 ? "us-west-2a" : "us-west-2b";
    // The stall sits in TTFB at a time no timer explains: only the AZ's path is to blame.
    if (r.writer === "us-west-2b" && rng.chance(badShare)) {
      addDelay(r, "ttfb", rng.uniform(700, 2600));
      faulty.push(r.seq);
    }
  }
  return { records, faulty };
}

describe("prober-specific", () => {
  it.each([1, 2, 3, 4])("seed %i: the stalls seen from one prober only are attributed to it", (seed) => {
    const { records, faulty } = fleet(seed, 0.2);
    const d = run(records);
    expect(ids(d)[0]).toBe("prober-specific");
    expect(attributed(d, "prober-specific")).toEqual(faulty);
    expect(d.verdict?.where).toBe("prober us-west-2b");
  });

  it("stays silent when both probers stall alike, and without writers", () => {
    const { records } = fleet(7, 0.2);
    for (const r of records) if (r.writer === "us-west-2a") r.writer = "us-west-2b";
    expect(ids(run(records))).not.toContain("prober-specific");
    for (const r of records) delete r.writer;
    expect(ids(run(records))).not.toContain("prober-specific");
  });
});
