/**
 * How this host's client falls back from one address family to the other
 * when a name has both AAAA and A records (Happy Eyeballs, RFC 8305).
 *
 * Node ≥ 20 (`net.connect`, hence undici and stallwatch's prober) has
 * `autoSelectFamily` on by default: it tries the lookup's addresses
 * alternating families, the first answer's family first, and abandons an
 * attempt that has not connected within the attempt timeout (250 ms by
 * default, the delay RFC 8305 recommends; `--network-family-autoselection-
 * attempt-timeout` or `net.setDefaultAutoSelectFamilyAttemptTimeout` change
 * it, values under 10 ms become 10). A connection whose first address's SYNs
 * go nowhere therefore connects one attempt timeout late (k timeouts late
 * after k such addresses), on a timer that fires late, never early.
 *
 * Without autoSelectFamily (`--no-network-family-autoselection`, Node < 20)
 * Node connects to the first address only; clients that fall back
 * sequentially (most without Happy Eyeballs) wait for the kernel to give up
 * on the first address: its whole SYN retransmission budget
 * (src/system/tcp-syn.ts `synGiveUpMs`, ~127 s with Linux's defaults).
 * curl's own Happy Eyeballs timeout is 200 ms.
 */
import net from "node:net";

export interface FamilyFallback {
  /** Whether the client tries the other family after the attempt timeout (Node's autoSelectFamily). */
  autoSelectFamily: boolean;
  /** Happy Eyeballs attempt timeout, ms (meaningful when autoSelectFamily is on). */
  attemptTimeoutMs: number;
  /** Where the numbers came from. */
  source: string;
}

/** RFC 8305's recommended Connection Attempt Delay, and Node's default attempt timeout. */
export const RFC8305_ATTEMPT_DELAY_MS = 250;

/** Node's defaults (v20+), for a diagnosis that was not told this host's settings. */
export const NODE_DEFAULT_FAMILY_FALLBACK: FamilyFallback = {
  autoSelectFamily: true,
  attemptTimeoutMs: RFC8305_ATTEMPT_DELAY_MS,
  source: "Node ≥ 20 defaults",
};

/** This process's settings: the ones every connection the prober opens uses. */
export function hostFamilyFallback(): FamilyFallback {
  const n = net as unknown as {
    getDefaultAutoSelectFamily?: () => boolean;
    getDefaultAutoSelectFamilyAttemptTimeout?: () => number;
  };
  if (typeof n.getDefaultAutoSelectFamily !== "function") {
    return {
      autoSelectFamily: false,
      attemptTimeoutMs: RFC8305_ATTEMPT_DELAY_MS,
      source: `Node ${process.version}`,
    };
  }
  const timeout = n.getDefaultAutoSelectFamilyAttemptTimeout?.() ?? RFC8305_ATTEMPT_DELAY_MS;
  return {
    autoSelectFamily: n.getDefaultAutoSelectFamily(),
    attemptTimeoutMs: Math.max(10, timeout),
    source: `Node ${process.version} net.getDefaultAutoSelectFamily(), getDefaultAutoSelectFamilyAttemptTimeout()`,
  };
}
