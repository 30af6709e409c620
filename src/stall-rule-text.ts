/**
 * The stall rule in words, written once: the `--stall-ms` help, the CloudWatch
 * dashboard's text widget, the README (generated block) and the config docs
 * all say it through here. No imports, so `stallwatch --help` stays light.
 * The defaults are the config schema's (src/config/schema.ts takes them from
 * here).
 */

export const STALL_RULE_DEFAULTS = { stallFactor: 5, stallFloorMs: 250 } as const;

export interface StallRuleWords {
  stallMs?: number | undefined;
  stallFactor: number;
  stallFloorMs: number;
}

/** "slower than max(250 ms, 5 × the lower quartile of its series), or cut off by its deadline". */
export function stallRuleText(rule: StallRuleWords = STALL_RULE_DEFAULTS): string {
  const limit =
    rule.stallMs !== undefined
      ? `${rule.stallMs} ms`
      : `max(${rule.stallFloorMs} ms, ${rule.stallFactor} × the lower quartile (p25) of its series)`;
  return `slower than ${limit}, or cut off by its deadline`;
}
