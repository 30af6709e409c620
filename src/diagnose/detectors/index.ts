/**
 * The built-in detectors, one per finding id of the registry. Order does not
 * matter: attribution uses the registry's precedence.
 *
 * The AWS detectors (NLB target health, X-Ray breakdowns) live beside their
 * evidence in src/aws/ and stay silent unless the diagnosis context carries
 * that evidence (`context.extra.targetHealth`, `context.extra.xray`).
 */
import { targetUnhealthyDetector } from "../../aws/elbv2/detector.js";
import { xrayDetectors } from "../../aws/xray/detector.js";
import type { Detector } from "../types.js";
import { addressSkew } from "./address-skew.js";
import { clientLag } from "./client-lag.js";
import { coldStartAfterIdle } from "./cold-start-after-idle.js";
import { dnsResolverTimeout } from "./dns-resolver-timeout.js";
import { periodicStall } from "./periodic-stall.js";
import { routeSpecific } from "./route-specific.js";
import { slowBackend } from "./slow-backend.js";
import { staleConnection } from "./stale-connection.js";
import { tcpSynRetransmit } from "./tcp-syn-retransmit.js";
import { timeout } from "./timeout.js";
import { tlsHandshakeStall } from "./tls-handshake-stall.js";

/**
 * An X-Ray breakdown is a measurement of where a stall's time went, not a
 * competing explanation: it stays in the findings even when every one of its
 * stalls is attributed to a more specific cause (e.g. target-unhealthy, which
 * says WHICH target; the breakdown says the time was spent in it).
 */
function corroborating(d: Detector): Detector {
  return {
    id: d.id,
    detect(input) {
      const res = d.detect(input);
      return res.candidate ? { ...res, candidate: { ...res.candidate, corroborating: true } } : res;
    },
  };
}

export const DEFAULT_DETECTORS: readonly Detector[] = [
  clientLag,
  timeout,
  dnsResolverTimeout,
  tcpSynRetransmit,
  tlsHandshakeStall,
  targetUnhealthyDetector,
  ...xrayDetectors.map(corroborating),
  addressSkew,
  periodicStall,
  staleConnection,
  coldStartAfterIdle,
  routeSpecific,
  slowBackend,
];
