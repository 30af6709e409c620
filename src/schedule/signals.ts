/**
 * Graceful shutdown on SIGTERM / SIGINT: the first signal runs the handler
 * (stop scheduling, abort after a grace period, flush), then exits 0; a
 * second signal, or the handler overrunning its hard deadline, exits at once
 * with 130 / 1. ECS sends SIGTERM and SIGKILLs 30 s later, so keep
 * graceMs + flush well under that.
 */

export type ShutdownSignal = "SIGTERM" | "SIGINT";

/** The part of `process` this needs (injectable in tests). */
export interface SignalTarget {
  on(event: ShutdownSignal, fn: (signal: ShutdownSignal) => void): unknown;
  off(event: ShutdownSignal, fn: (signal: ShutdownSignal) => void): unknown;
}

export interface ShutdownOptions {
  /** The grace period the handler is given; the hard deadline is graceMs + hardMarginMs. */
  graceMs: number;
  /** Extra time for flushing after the grace period before forcing exit (default 8000 ms). */
  hardMarginMs?: number;
  /** Default: process.exit. */
  exit?: (code: number) => void;
  /** Default: process. */
  target?: SignalTarget;
  /** Told about the signal and the outcome (default: nothing). */
  onEvent?: (event: "signal" | "forced" | "deadline" | "handler-error", detail: string) => void;
  /** Signals caught before this call (see catchEarlySignals): taken over, and one that came is handled now. */
  early?: EarlySignals;
}

/**
 * Holds SIGTERM / SIGINT from the moment a command starts loading until its
 * real handler is installed, so a signal in that window is not Node's default
 * (exit 143 / 130, nothing flushed) but the command's clean shutdown.
 */
export interface EarlySignals {
  /** The first signal caught so far, if any. */
  readonly caught: ShutdownSignal | undefined;
  /** Removes the catching handlers (idempotent). */
  release(): void;
}

/** Starts catching SIGTERM / SIGINT; hand the result to installShutdown, or release it. */
export function catchEarlySignals(target: SignalTarget = process): EarlySignals {
  let caught: ShutdownSignal | undefined;
  let released = false;
  const onSignal = (signal: ShutdownSignal): void => {
    caught ??= signal;
  };
  target.on("SIGTERM", onSignal);
  target.on("SIGINT", onSignal);
  return {
    get caught() {
      return caught;
    },
    release() {
      if (released) return;
      released = true;
      target.off("SIGTERM", onSignal);
      target.off("SIGINT", onSignal);
    },
  };
}

/** Installs the handlers; returns a function that removes them. */
export function installShutdown(
  handler: (signal: ShutdownSignal) => Promise<void>,
  opts: ShutdownOptions,
): () => void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const target: SignalTarget = opts.target ?? process;
  const hardMs = opts.graceMs + (opts.hardMarginMs ?? 8000);
  let started = false;
  let deadline: NodeJS.Timeout | undefined;

  const onSignal = (signal: ShutdownSignal): void => {
    if (started) {
      opts.onEvent?.("forced", `second ${signal}: exiting now`);
      exit(130);
      return;
    }
    started = true;
    opts.onEvent?.("signal", `${signal}: shutting down (grace ${opts.graceMs} ms)`);
    deadline = setTimeout(() => {
      opts.onEvent?.("deadline", `shutdown did not finish within ${hardMs} ms: exiting`);
      exit(1);
    }, hardMs);
    deadline.unref();
    handler(signal).then(
      () => {
        clearTimeout(deadline);
        exit(0);
      },
      (err: unknown) => {
        clearTimeout(deadline);
        opts.onEvent?.("handler-error", String(err));
        exit(1);
      },
    );
  };
  target.on("SIGTERM", onSignal);
  target.on("SIGINT", onSignal);
  if (opts.early) {
    const caught = opts.early.caught;
    opts.early.release();
    if (caught) onSignal(caught);
  }
  return () => {
    target.off("SIGTERM", onSignal);
    target.off("SIGINT", onSignal);
    if (deadline) clearTimeout(deadline);
  };
}
