// The benchmark's HTTP(S) server, run in its own process so its CPU never
// shares the measured client's event loop. Prints its port on the first line.
//
//   node bench/server.mjs [host] [--tls cert.pem key.pem]
//
// GET /d/<ms>  waits <ms> before sending headers, then a small JSON body.
// Any other path answers at once with the same body.
//
// --apigw: every answer carries the per-request headers a REST API behind
// CloudFront sends (x-amzn-RequestId, x-amz-apigw-id, X-Amzn-Trace-Id,
// X-Amz-Cf-Id: unique per request; Via, X-Cache, X-Amz-Cf-Pop: repeating), so a
// memory benchmark holds what a real API's records hold. Each in its real shape:
// the request id a lowercase UUID, the apigw id 16 characters of base64 (11
// bytes, as in "NPn3tGgpoAMFcbw="), the trace id an X-Ray root, the CloudFront id
// 56 characters of padded base64url (40 bytes, as in
// "l4ROlyaPGT6ARcVU9-NjaU9iKhG-CTfaJpZzXkN_xKWeMb3BexXLrw==").
import { readFileSync } from "node:fs";
import { createServer as createHttp } from "node:http";
import { createServer as createHttps } from "node:https";

const host = process.argv[2] ?? "127.0.0.1";
const tlsAt = process.argv.indexOf("--tls");
const body = JSON.stringify({ status: "OK", service: "stallwatch-bench" });
const len = Buffer.byteLength(body);

const apigw = process.argv.includes("--apigw");
let n = 0;
const hex = (k, w) => (k >>> 0).toString(16).padStart(w, "0");
function apigwHeaders() {
  n++;
  const id = `${hex(n * 2654435761, 8)}-${hex(n, 4)}-4${hex(n >> 4, 3)}-8${hex(n >> 8, 3)}-${hex(n * 40503, 8)}${hex(n, 4)}`;
  return {
    "x-amzn-requestid": id,
    "x-amz-apigw-id": bytes(11, n * 2246822519).toString("base64"),
    "x-amzn-trace-id": `Root=1-${hex(Math.floor(Date.now() / 1000), 8)}-${hex(n * 3266489917, 8)}${hex(n, 16)}`,
    via: `1.1 ${hex(n % 4, 32)}.cloudfront.net (CloudFront)`,
    "x-cache": "Miss from cloudfront",
    "x-amz-cf-pop": "FRA56-P5",
    "x-amz-cf-id": bytes(40, n * 668265263)
      .toString("base64url")
      .padEnd(56, "="),
  };
}

/** `count` pseudo-random bytes from a seed (xorshift32): ids that look like real ones, the same every run. */
function bytes(count, seed) {
  let x = seed >>> 0 || 1;
  const out = Buffer.alloc(count);
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function answer(res) {
  res.writeHead(200, {
    "content-type": "application/json",
    "content-length": len,
    ...(apigw ? apigwHeaders() : {}),
  });
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
