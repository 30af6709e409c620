/** The built-in detectors, one per finding id of the registry. Order does not matter: attribution uses the registry's precedence. */
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

export const DEFAULT_DETECTORS: readonly Detector[] = [
  clientLag,
  timeout,
  dnsResolverTimeout,
  tcpSynRetransmit,
  tlsHandshakeStall,
  addressSkew,
  periodicStall,
  staleConnection,
  coldStartAfterIdle,
  routeSpecific,
  slowBackend,
];
