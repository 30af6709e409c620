/**
 * A one-line progress bar for stderr: done/total, stalls so far, elapsed.
 * Draws only on a TTY, at most 10 times a second (the final count always
 * shows), and clears its line when finished so the report starts clean.
 */
import { performance } from "node:perf_hooks";
import { fmtDuration, plural } from "./style.js";

/** The part of a tty.WriteStream the bar uses. */
export interface ProgressStream {
  isTTY?: boolean | undefined;
  columns?: number | undefined;
  write(chunk: string): boolean;
}

export interface ProgressOptions {
  stream: ProgressStream;
  total: number;
  /** Monotonic clock, ms. Default performance.now. */
  now?: () => number;
  /** Least time between redraws, ms. Default 100 (≤ 10 redraws/s). */
  minIntervalMs?: number;
}

export interface Progress {
  /** Reports progress; redraws when the throttle allows (always for the last request). */
  update(done: number, stalls: number): void;
  /** Clears the line. Further updates are ignored. */
  finish(): void;
  /** Lines drawn so far (for tests and diagnostics). */
  readonly draws: number;
}

const CLEAR = "\r\u001b[2K";

export function createProgress(options: ProgressOptions): Progress {
  const { stream, total } = options;
  const now = options.now ?? (() => performance.now());
  const minIntervalMs = options.minIntervalMs ?? 100;
  const enabled = stream.isTTY === true;
  const startedAt = now();
  let lastDraw = Number.NEGATIVE_INFINITY;
  let draws = 0;
  let finished = false;

  return {
    update(done, stalls) {
      if (!enabled || finished) return;
      const t = now();
      if (t - lastDraw < minIntervalMs && done < total) return;
      lastDraw = t;
      draws++;
      // A terminal that reports 0 columns (a bare pty) is treated as 80 wide rather than drawing nothing.
      stream.write(CLEAR + progressLine(done, total, stalls, t - startedAt, stream.columns || 80));
    },
    finish() {
      if (finished) return;
      finished = true;
      if (enabled && draws > 0) stream.write(CLEAR);
    },
    get draws() {
      return draws;
    },
  };
}

/** The bar's text: `[█████░░░░░] 120/400 · 2 stalls · 4.20 s`, fitted to `columns`. */
export function progressLine(
  done: number,
  total: number,
  stalls: number,
  elapsedMs: number,
  columns: number,
): string {
  const text = ` ${done}/${total} · ${plural(stalls, "stall")} · ${fmtDuration(Math.max(0, elapsedMs))}`;
  const room = Math.min(30, columns - text.length - 3);
  if (room < 5) return text.trim().slice(0, Math.max(0, columns - 1));
  const filled = total > 0 ? Math.round((Math.min(done, total) / total) * room) : 0;
  return `[${"█".repeat(filled)}${"░".repeat(room - filled)}]${text}`;
}
