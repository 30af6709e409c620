/** Helpers for the lab tests: one request over a fresh or a given undici connection, timed. */
import { Client } from "undici";

export interface Hit {
  status: number;
  headers: Record<string, string>;
  body: string;
  json: unknown;
  ms: number;
}

function flatten(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}

/** GET `url` on `client` (reusing its connection). */
export async function hitOn(
  client: Client,
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<Hit> {
  const u = new URL(url);
  const t0 = performance.now();
  const r = await client.request({
    path: u.pathname + u.search,
    method: "GET",
    headers,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = await r.body.text();
  const ms = performance.now() - t0;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: r.statusCode, headers: flatten(r.headers), body, json, ms };
}

/** GET `url` on a brand-new connection, closed afterwards. */
export async function hitFresh(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<Hit> {
  const client = new Client(new URL(url).origin);
  try {
    return await hitOn(client, url, headers, timeoutMs);
  } finally {
    await client.destroy();
  }
}

/** Waits until the lab's closing socket events have been processed. */
export function settle(ms = 20): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
