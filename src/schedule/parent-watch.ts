/**
 * `npx stallwatch daemon` runs as npm → sh → node, and SIGTERM to npm's PID
 * ends npm (and sh) without passing the signal on: the daemon is re-parented
 * and keeps probing. Under npm exec (`npm_command=exec`) the daemon watches
 * its parent and, once re-parented, stops exactly as on SIGTERM. Started with
 * `node` or the bin directly it watches nothing: a daemon started with `&`
 * from a shell that later exits must keep running.
 */

export interface ParentWatchOptions {
  /** Default process.ppid, read on each check. */
  ppid?: () => number;
  /** Default 1000 ms. */
  intervalMs?: number;
}

/** Calls `onOrphaned` once when the parent process changes; returns a function that stops watching. */
export function watchParent(onOrphaned: () => void, opts: ParentWatchOptions = {}): () => void {
  const ppid = opts.ppid ?? (() => process.ppid);
  const first = ppid();
  const timer = setInterval(() => {
    if (ppid() === first) return;
    clearInterval(timer);
    onOrphaned();
  }, opts.intervalMs ?? 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/** True when started by `npm exec` / `npx`, whose signals do not reach us. */
export function startedByNpmExec(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.npm_command === "exec";
}
