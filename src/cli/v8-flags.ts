/**
 * V8 settings for the stallwatch process, applied before anything else is
 * loaded (main.ts imports this module first). Both trade code speed the
 * prober does not need for memory a long report or a small ECS task does:
 *
 * - `--optimize-for-size`: a tighter heap (smaller young generation, slower
 *   heap growth). Peak RSS of `report --url … --count 100000 --connection
 *   reuse --concurrency 8` on loopback: 153–155 MB without, 125–130 MB with;
 *   CPU time within run-to-run noise (BENCHMARKS.md).
 * - `--liftoff-only`: undici's HTTP parser is WebAssembly (llhttp); V8's
 *   optimizing tier recompiles it in the background a few hundred requests
 *   in, which took ~35 MB of compiler memory at its peak (a 100-request
 *   report peaked at 126 MB, 93 MB without that compile).
 *
 * Set STALLWATCH_V8_DEFAULTS=0 to run with V8's own defaults (to compare, or
 * if a future Node rejects a flag). Flags set after V8 started apply to what
 * V8 does from then on; both are read when the heap grows or a module compiles.
 */
import { setFlagsFromString } from "node:v8";

const STALLWATCH_V8_FLAGS = ["--optimize-for-size", "--liftoff-only"] as const;
const applied = process.env.STALLWATCH_V8_DEFAULTS !== "0";

if (applied) {
  for (const flag of STALLWATCH_V8_FLAGS) setFlagsFromString(flag);
}

/**
 * For a command that only reads stored history (`report --from`): V8's own heap sizing again. Such a read
 * is a short CPU-bound batch (parsing, decoding, the diagnosis), not a prober: the tighter heap doubled its
 * GC. A week of one-minute rounds (BENCHMARKS.md §4): 8.5 user-s and 207 MB with `--optimize-for-size`,
 * 4.9–5.2 user-s and 255–284 MB without; with 12 requests a round 11.6–15 against 6.8–6.9 user-s, 296 against
 * 378 MB. `--liftoff-only` stays (no HTTP parser to compile there anyway).
 */
export function useDefaultHeapSizing(): void {
  if (applied) setFlagsFromString("--no-optimize-for-size");
}
