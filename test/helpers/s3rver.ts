/**
 * A real third-party S3 implementation (s3rver) on loopback, port 0, with
 * one bucket, plus an HTTP proxy in front of it that can refuse (503) or hold
 * requests, for S3 faults. Clients authenticate as s3rver's default
 * S3RVER / S3RVER.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
// @ts-expect-error s3rver ships no types
import S3rver from "s3rver";

export const S3_ENV = {
  AWS_ACCESS_KEY_ID: "S3RVER",
  AWS_SECRET_ACCESS_KEY: "S3RVER",
  AWS_REGION: "us-east-1",
  AWS_EC2_METADATA_DISABLED: "true",
  // The SDK's notice that releases after January 2027 need Node 22 would be the only stderr line on Node 20.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
} as const;

export interface LocalS3 {
  /** http://127.0.0.1:PORT of s3rver itself. */
  endpoint: string;
  bucket: string;
  close(): Promise<void>;
}

export async function startS3(bucket = "probes"): Promise<LocalS3> {
  const dir = mkdtempSync(join(tmpdir(), "sw-s3rver-"));
  const srv = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = (await srv.run()) as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    async close() {
      await srv.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type ProxyMode = "pass" | "refuse" | "hold-records";

export interface S3Proxy {
  endpoint: string;
  mode: ProxyMode;
  /** PUT keys seen (path after the bucket), in order. */
  readonly puts: string[];
  /** Resolves when a records PUT is being held (mode hold-records). */
  held(): Promise<void>;
  close(): Promise<void>;
}

/** An HTTP proxy to `target`: passes, answers 503 to everything, or holds PUTs of `.jsonl.gz` objects forever. */
export async function startS3Proxy(target: string): Promise<S3Proxy> {
  const t = new URL(target);
  let onHeld: (() => void) | undefined;
  let heldP = new Promise<void>((r) => {
    onHeld = r;
  });
  const open = new Set<ServerResponse>();
  const state: { mode: ProxyMode; puts: string[] } = { mode: "pass", puts: [] };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === "PUT") state.puts.push(req.url ?? "");
    if (state.mode === "refuse") {
      req.resume();
      res.writeHead(503, { "content-type": "application/xml" });
      res.end("<Error><Code>ServiceUnavailable</Code><Message>down for the test</Message></Error>");
      return;
    }
    if (state.mode === "hold-records" && req.method === "PUT" && (req.url ?? "").includes(".jsonl.gz")) {
      open.add(res);
      req.resume();
      onHeld?.();
      return; // never answered: the writer is killed meanwhile
    }
    const up = request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get mode() {
      return state.mode;
    },
    set mode(m: ProxyMode) {
      state.mode = m;
      if (m === "hold-records") {
        heldP = new Promise<void>((r) => {
          onHeld = r;
        });
      }
    },
    get puts() {
      return state.puts;
    },
    held: () => heldP,
    async close() {
      for (const r of open) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
