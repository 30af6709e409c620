/**
 * curl-style `--resolve host:port:address[,address...]`: pin a name to
 * addresses for one port, while Host and TLS SNI keep the name. Implemented
 * as a `lookup` function handed to `net.connect`, so the socket still emits
 * `lookup` (the DNS phase exists for fresh connections, it is just ~0 ms).
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { isIP } from "node:net";
import { UsageError } from "../errors.js";

/** Node's `lookup` option of `net.connect` (called with `{all: true}` under autoSelectFamily). */
export type LookupFunction = (
  hostname: string,
  options: { all?: boolean; family?: number | string } | number,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => void;

export interface ResolveEntry {
  host: string;
  port: number;
  addresses: LookupAddress[];
}

/** Parse `host:port:address[,address]` entries (IPv6 addresses may be bracketed). */
export function parseResolve(entries: readonly string[]): Map<string, ResolveEntry> {
  const map = new Map<string, ResolveEntry>();
  for (const entry of entries) {
    const m = /^([^:]+):(\d{1,5}):(.+)$/.exec(entry.trim());
    const port = m ? Number(m[2]) : Number.NaN;
    if (!m?.[1] || !m[3] || port < 1 || port > 65535) {
      throw new UsageError(`invalid --resolve entry '${entry}': expected host:port:address (as in curl)`);
    }
    const addresses: LookupAddress[] = m[3].split(",").map((raw) => {
      const address = raw.trim().replace(/^\[(.*)\]$/, "$1");
      const family = isIP(address);
      if (family === 0) {
        throw new UsageError(`invalid --resolve entry '${entry}': '${raw}' is not an IP address`);
      }
      return { address, family };
    });
    const host = m[1].toLowerCase();
    map.set(resolveKey(host, port), { host, port, addresses });
  }
  return map;
}

export function resolveKey(host: string, port: number): string {
  return `${host.toLowerCase()}:${port}`;
}

/** A lookup that answers with fixed addresses (asynchronously, like a real lookup). */
export function pinnedLookup(addresses: readonly LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const all = typeof options === "object" && options.all === true;
    const family = typeof options === "object" ? Number(options.family ?? 0) : options;
    const pool = family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses;
    process.nextTick(() => {
      const first = pool[0];
      if (!first) {
        const err: NodeJS.ErrnoException = new Error(`no pinned address of family ${family}`);
        err.code = "ENOTFOUND";
        callback(err, all ? [] : "");
      } else if (all)
        callback(
          null,
          pool.map((a) => ({ ...a })),
        );
      else callback(null, first.address, first.family);
    });
  };
}

/** The system resolver (`dns.lookup`, getaddrinfo), typed as a LookupFunction. */
export const systemLookup: LookupFunction = dnsLookup as unknown as LookupFunction;
