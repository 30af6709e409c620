/**
 * A small polling scheduler: calls `poll` every `intervalMs` (at least
 * 250 ms) until stop(), which waits for the calls still in flight. A slow
 * call does not delay the next tick: a source that must not overlap itself
 * serialises its own calls (the target-health source does). Errors of a call
 * are the caller's to catch (the evidence sources never throw).
 */
export function startPolling(poll: () => Promise<unknown>, intervalMs: number): () => Promise<void> {
  let stopped = false;
  const inFlight = new Set<Promise<unknown>>();
  const timer = setInterval(
    () => {
      if (stopped) return;
      const p: Promise<unknown> = poll()
        .catch(() => undefined)
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    },
    Math.max(250, intervalMs),
  );
  return async () => {
    stopped = true;
    clearInterval(timer);
    await Promise.all(inFlight);
  };
}
