/**
 * Warms the prober's own code paths before the first measured request.
 *
 * The first request a process makes pays for loading undici's modules, the
 * JIT, and libuv spawning its threadpool for the first DNS lookup: measured
 * at ~340 ms on a loopback target whose later requests took ~2 ms, with the
 * event loop blocked for 137 ms of it. That is stallwatch's cost, not the
 * network's, so it is paid here, against an in-process server on loopback,
 * never against the target (whose cold start after idle is what we measure).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Prober, ProbeTarget } from "../probe/types.js";

const BODY = JSON.stringify({ status: "OK" });

export async function warmUpProber(prober: Prober, rounds = 3): Promise<void> {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(BODY) });
    res.end(BODY);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  try {
    const { port } = server.address() as AddressInfo;
    const target: ProbeTarget = {
      api: "warm-up",
      route: "loopback",
      endpoint: "/",
      // A name, not an address: the first lookup is what spins up libuv's threadpool.
      url: `http://localhost:${port}/`,
      method: "GET",
      headers: {},
      secretHeaders: [],
      expect: { status: 200, json: { status: "OK" } },
      timeoutMs: 5000,
    };
    for (let i = 0; i < rounds; i++) {
      await prober.probe(target, { connection: "fresh" });
      await prober.probe(target, { connection: "reuse" });
    }
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
