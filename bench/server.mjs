// The benchmark's HTTP(S) server, run in its own process so its CPU never
// shares the measured client's event loop. Prints its port on the first line.
//
//   node bench/server.mjs [host] [--tls cert.pem key.pem]
//
// GET /d/<ms>  waits <ms> before sending headers, then a small JSON body.
// Any other path answers at once with the same body.
import { readFileSync } from "node:fs";
import { createServer as createHttp } from "node:http";
import { createServer as createHttps } from "node:https";

const host = process.argv[2] ?? "127.0.0.1";
const tlsAt = process.argv.indexOf("--tls");
const body = JSON.stringify({ status: "OK", service: "stallwatch-bench" });
const len = Buffer.byteLength(body);

function answer(res) {
  res.writeHead(200, { "content-type": "application/json", "content-length": len });
  res.end(body);
}

function onRequest(req, res) {
  req.resume();
  const m = /^\/d\/(\d+)/.exec(req.url ?? "");
  const delayMs = m ? Number(m[1]) : 0;
  if (delayMs > 0) {
    const t = setTimeout(() => answer(res), delayMs);
    res.on("close", () => clearTimeout(t));
  } else {
    answer(res);
  }
}

const server =
  tlsAt >= 0
    ? createHttps(
        { cert: readFileSync(process.argv[tlsAt + 1]), key: readFileSync(process.argv[tlsAt + 2]) },
        onRequest,
      )
    : createHttp(onRequest);
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;
server.listen(0, host, () => {
  process.stdout.write(`${server.address().port}\n`);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
