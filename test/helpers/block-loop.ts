/** Keep this thread busy for `ms` (the event loop gets no turn meanwhile): client-side lag on demand. */
export function blockEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy on purpose
  }
}
