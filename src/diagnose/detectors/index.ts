/**
 * The built-in detectors, one per finding id of the registry. Order does not
 * matter: attribution uses the registry's precedence.
 *
 * The AWS detectors (NLB target health, X-Ray breakdowns) stay silent unless
 * the diagnosis context carries that evidence (`context.targetHealth`,
 * `context.xray`, fetched by src/aws/).
 */
import type { Detector } from "../types.js";
import { addressSkew } from "./address-skew.js";
import { clientLag } from "./client-lag.js";
import { coldStartAfterIdle } from "./cold-start-after-idle.js";
import { deployDrain } from "./deploy-drain.js";
import { dnsResolverTimeout } from "./dns-resolver-timeout.js";
import { hiddenHopDnsTimeout, hiddenHopSynRetransmit } from "./hidden-hop.js";
import { ipv6Fallback } from "./ipv6-fallback.js";
import { keepaliveMismatch } from "./keepalive-mismatch.js";
import { listenBacklog } from "./listen-backlog.js";
import { periodicStall } from "./periodic-stall.js";
import { proberSpecific } from "./prober-specific.js";
import { routeSpecific } from "./route-specific.js";
import { slowBackend } from "./slow-backend.js";
import { slowTarget } from "./slow-target.js";
import { staleConnection } from "./stale-connection.js";
import { targetUnhealthyDetector } from "./target-unhealthy.js";
import { tcpSynRetransmit } from "./tcp-syn-retransmit.js";
import { throttling } from "./throttling.js";
import { timeout } from "./timeout.js";
import { tlsHandshakeStall } from "./tls-handshake-stall.js";
import { transferStall } from "./transfer-stall.js";
import { xrayDetectors } from "./xray.js";

export const DEFAULT_DETECTORS: readonly Detector[] = [
  clientLag,
  timeout,
  dnsResolverTimeout,
  tcpSynRetransmit,
  ipv6Fallback,
  tlsHandshakeStall,
  deployDrain,
  targetUnhealthyDetector,
  slowTarget,
  throttling,
  // X-Ray breakdowns are evidence (registry role): they take no stall and corroborate the verdict.
  ...xrayDetectors,
  addressSkew,
  periodicStall,
  keepaliveMismatch,
  staleConnection,
  coldStartAfterIdle,
  routeSpecific,
  proberSpecific,
  listenBacklog,
  hiddenHopDnsTimeout,
  hiddenHopSynRetransmit,
  transferStall,
  slowBackend,
];
