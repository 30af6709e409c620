/**
 * The system resolver's retry timing, read from resolv.conf, so the
 * diagnosis can recognise DNS stalls at multiples of *this* machine's
 * resolver timeout (glibc default: `timeout:5`, `attempts:2`).
 */
import { readFileSync } from "node:fs";

export interface ResolverSettings {
  nameservers: string[];
  /** Per-try timeout, ms (glibc `options timeout:N`, default 5 s, capped at 30 s). */
  timeoutMs: number;
  /** Tries per nameserver (glibc `options attempts:N`, default 2, capped at 5). */
  attempts: number;
  /** `options single-request` / `single-request-reopen` (workarounds for the parallel A/AAAA conntrack race). */
  singleRequest: boolean;
  source: string;
}

export const GLIBC_DEFAULT_TIMEOUT_MS = 5000;

export function parseResolvConf(text: string, source = "resolv.conf"): ResolverSettings {
  const out: ResolverSettings = {
    nameservers: [],
    timeoutMs: GLIBC_DEFAULT_TIMEOUT_MS,
    attempts: 2,
    singleRequest: false,
    source,
  };
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === "nameserver" && rest[0]) out.nameservers.push(rest[0]);
    if (key !== "options") continue;
    for (const opt of rest) {
      const [name, value] = opt.split(":");
      const n = Number(value);
      if (name === "timeout" && Number.isInteger(n) && n >= 1) out.timeoutMs = Math.min(n, 30) * 1000;
      if (name === "attempts" && Number.isInteger(n) && n >= 1) out.attempts = Math.min(n, 5);
      if (name === "single-request" || name === "single-request-reopen") out.singleRequest = true;
    }
  }
  return out;
}

/** Reads /etc/resolv.conf (or `path`); falls back to glibc defaults when it cannot be read. */
export function readResolverSettings(path = "/etc/resolv.conf"): ResolverSettings {
  try {
    return parseResolvConf(readFileSync(path, "utf8"), path);
  } catch {
    return parseResolvConf("", `${path} (unreadable: glibc defaults)`);
  }
}
