/**
 * Clocks are passed in, never read from globals inside the logic, so tests
 * can drive time. `now()` is monotonic (ms, fractional); `wallMs()` is epoch ms.
 */
export interface Clock {
  now(): number;
  wallMs(): number;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallMs: () => Date.now(),
};

/** Waits `ms` (resolves at once for ms ≤ 0). */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/**
 * The one abortable sleep: resolves after `ms`, or early (never rejecting) when `signal` aborts, and
 * leaves no listener on the signal behind (a sweep or a daemon sleeps many times on one signal).
 */
export const sleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
