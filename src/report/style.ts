/**
 * Terminal styling shared by the reporters: plain ANSI SGR codes (no colour
 * library deciding on its own), number formatting, log-scale bars.
 */

/** Decides whether to colour output written to `stream`. */
export interface ColorStream {
  isTTY?: boolean | undefined;
}

/**
 * Colour only on a TTY, never with NO_COLOR (any non-empty value), never on
 * TERM=dumb. FORCE_COLOR forces it on (or off with 0/false) — except that
 * NO_COLOR always wins.
 */
export function shouldUseColor(
  stream: ColorStream,
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== "0" && force.toLowerCase() !== "false";
  return stream.isTTY === true && env.TERM !== "dumb";
}

export type Tone = "red" | "yellow" | "green" | "cyan" | "dim" | "bold";

const CODES: Record<Tone, [number, number]> = {
  red: [31, 39],
  yellow: [33, 39],
  green: [32, 39],
  cyan: [36, 39],
  dim: [2, 22],
  bold: [1, 22],
};

/** A painter: wraps text in ANSI codes when colour is on, returns it untouched otherwise. */
export type Paint = (tone: Tone, text: string) => string;

export function painter(color: boolean): Paint {
  if (!color) return (_tone, text) => text;
  return (tone, text) => {
    const [on, off] = CODES[tone];
    return text === "" ? text : `\u001b[${on}m${text}\u001b[${off}m`;
  };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes is the point
const ANSI = /\u001b\[[0-9;]*m/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, "");
}

/** Cuts plain text to `width` characters with an ellipsis. */
export function truncate(s: string, width: number): string {
  const chars = [...s];
  if (chars.length <= width) return s;
  return width <= 1 ? chars.slice(0, width).join("") : `${chars.slice(0, width - 1).join("")}…`;
}

/**
 * Milliseconds as a bare number for a table cell or a gate value whose unit is said beside it ("8.50", "12.3",
 * "1,032"): 3 significant-ish digits, thousands grouped, "-" for none. Not for prose: a duration in words is
 * {@link fmtDuration}.
 */
export function fmtMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "-";
  const a = Math.abs(ms);
  if (a < 10) return ms.toFixed(2);
  if (a < 100) return ms.toFixed(1);
  return Math.round(ms).toLocaleString("en-US");
}

/** A number for prose: up to 3 significant digits below 100, no trailing zeros ("0.41", "12.3", "50"). */
export function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 100) return Math.round(v).toLocaleString("en-US");
  return String(Number(v.toPrecision(a < 1 ? 2 : 3)));
}

/** Durations in prose (headers, progress): the one formatter every output shares. */
export { fmtDuration } from "../duration.js";

export function fmtCount(n: number): string {
  return n.toLocaleString("en-US");
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${fmtCount(n)} ${n === 1 ? one : many}`;
}

/** `YYYY-MM-DD HH:MM:SS` in UTC (deterministic whatever the machine's zone). */
export function fmtUtc(ms: number, withSeconds = true): string {
  const s = new Date(ms).toISOString();
  return `${s.slice(0, 10)} ${s.slice(11, withSeconds ? 19 : 16)}`;
}

export const BARS = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"] as const;

/**
 * Bar level 0..8 for a count on a log scale, so 3 stalls among 400 requests
 * still show (level ≥ 1 for any non-zero count). 0 means empty.
 */
export function logLevel(count: number, maxCount: number): number {
  if (count <= 0 || maxCount <= 0) return 0;
  return Math.max(1, Math.min(8, Math.ceil((Math.log1p(count) / Math.log1p(maxCount)) * 8)));
}

/** A bar glyph for a level 0..8 (space for 0). */
export function barGlyph(level: number): string {
  return level <= 0 ? " " : BARS[Math.min(8, level) - 1]!;
}
