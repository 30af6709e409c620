/**
 * The lab's warm-up (src/lab/warm-up.ts) really carries its requests through every hop: each is answered 200
 * (a wrong route or path would answer 403/404 fast and warm nothing past the first hop), and it closes what it
 * started, under its deadline.
 */
import { describe, expect, it } from "vitest";
import { warmUpLab } from "../../src/lab/warm-up.js";

describe("lab warm-up", () => {
  it("answers every warm-up request 200 over both routes, fresh and reused", async () => {
    const r = await warmUpLab({ rounds: 2 });
    // 2 rounds × 2 routes × 4 endpoints × (fresh, reused)
    expect(r).toEqual({ requests: 32, ok: 32 });
  });

  it("stops at its deadline", async () => {
    const r = await warmUpLab({ rounds: 1000, deadlineMs: 200 });
    expect(r.requests).toBeLessThan(16_000);
    expect(r.requests % 16).toBe(0);
  });
});
