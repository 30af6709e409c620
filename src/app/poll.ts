/**
 * A small polling scheduler: calls `poll` every `intervalMs` (at least
 * 250 ms) until stop(), which waits for a call in flight. A call still
 * running when the next tick comes is not doubled: that tick is skipped.
 * Errors of a call are the caller's to catch (the evidence sources never throw).
 */
export function startPolling(poll: () => Promise<unknown>, intervalMs: number): () => Promise<void> {
  let stopped = false;
  let inFlight: Promise<unknown> | undefined;
  const timer = setInterval(
    () => {
      if (stopped || inFlight) return;
      inFlight = poll()
        .catch(() => undefined)
        .finally(() => {
          inFlight = undefined;
        });
    },
    Math.max(250, intervalMs),
  );
  return async () => {
    stopped = true;
    clearInterval(timer);
    await inFlight;
  };
}
