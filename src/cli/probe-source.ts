/**
 * Where a command's targets come from, decided once for every command:
 * `--lab [scenario]` (the built-in lab; a `-c` file beside it supplies the
 * rest, see lab-config.ts), `-c, --config FILE`, or the `--url` / `--route`
 * flags. The commands differ only in the rules they pass: which scenario a
 * bare `--lab` means, whether the sources exclude each other, and whether
 * flags may stand in for a config file.
 */
import { UsageError } from "../errors.js";

export type ProbeSource =
  | { kind: "lab"; scenario: string; config?: string }
  | { kind: "config"; file: string }
  | { kind: "flags" };

export interface ProbeSourceFlags {
  config?: string | undefined;
  lab?: string | boolean | undefined;
  url?: string | undefined;
  route?: readonly string[] | undefined;
}

export interface ProbeSourceRules {
  /** For the error message (`run: expected -c, --config <file> …`). */
  command: string;
  /** The scenario a bare `--lab` means. */
  defaultScenario: string;
  /** `--config`, `--lab` and `--url` / `--route` exclude each other (report). */
  exclusive?: boolean;
  /**
   * Whether the flags may stand in for a config file: `always` (report: the flags' own checks say what is
   * missing), `url` (only when --url is given; idle-sweep). Absent: never (run, daemon).
   */
  flags?: "always" | "url";
}

/** The lab scenario `--lab` names (bare `--lab`: the default), or undefined without --lab. */
export function labScenarioOf(
  lab: string | boolean | undefined,
  defaultScenario: string,
): string | undefined {
  if (lab === undefined || lab === false) return undefined;
  return typeof lab === "string" ? lab : defaultScenario;
}

/** Without `rules.flags` the answer is the lab or a config file. */
export function chooseProbeSource(
  flags: ProbeSourceFlags,
  rules: ProbeSourceRules & { flags?: undefined },
): Exclude<ProbeSource, { kind: "flags" }>;
export function chooseProbeSource(flags: ProbeSourceFlags, rules: ProbeSourceRules): ProbeSource;
export function chooseProbeSource(flags: ProbeSourceFlags, rules: ProbeSourceRules): ProbeSource {
  if (rules.exclusive) {
    const sources = [flags.config, flags.lab, flags.url ?? flags.route?.length].filter(Boolean).length;
    if (sources > 1) throw new UsageError("give one of --config, --lab, --url / --route");
  }
  const scenario = labScenarioOf(flags.lab, rules.defaultScenario);
  if (scenario !== undefined)
    return { kind: "lab", scenario, ...(flags.config !== undefined ? { config: flags.config } : {}) };
  if (flags.config !== undefined) return { kind: "config", file: flags.config };
  if (rules.flags === "always" || (rules.flags === "url" && flags.url !== undefined))
    return { kind: "flags" };
  if (rules.flags === "url") throw new UsageError("give --config FILE, --url URL or --lab [scenario]");
  throw new UsageError(
    `${rules.command}: expected -c, --config <file> (or --lab [scenario] to probe the built-in lab)`,
  );
}
