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
