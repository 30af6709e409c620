/**
 * Seeded randomness for the lab's fault decisions, so a scenario run can be
 * replayed (`seed` in the lab options), plus the AWS-looking identifiers the
 * simulated hops put in headers (those come from crypto: they only need to be unique).
 */
import { randomBytes, randomUUID } from "node:crypto";

/** A seeded source of uniform numbers in [0, 1). */
export interface Rng {
  next(): number;
  /** The seed the generator started from. */
  readonly seed: number;
}

/** mulberry32: small, fast, good enough for fault injection (not for anything secret). */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  return {
    seed: seed >>> 0,
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** A random seed when the caller gave none (recorded on the lab so the run can be replayed). */
export function randomSeed(): number {
  return randomBytes(4).readUInt32LE(0);
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}

const B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function base64ish(length: number): string {
  const bytes = randomBytes(length);
  let out = "";
  for (const b of bytes) out += B64_CHARS[b % B64_CHARS.length];
  return out;
}

/** `x-amzn-RequestId`: a UUID. */
export function newRequestId(): string {
  return randomUUID();
}

/** `x-amz-apigw-id` (extended request id): 15 base64 characters and '=', e.g. `MiL5gHmqvHcFRqw=`. */
export function newApigwId(): string {
  return `${base64ish(15)}=`;
}

/** X-Ray trace root: `1-<8 hex epoch seconds>-<24 hex>`. */
export function newTraceRoot(wallMs: number): string {
  const epochHex = Math.floor(wallMs / 1000)
    .toString(16)
    .padStart(8, "0");
  return `1-${epochHex}-${hex(12)}`;
}

/** X-Ray segment id: 16 hex. */
export function newSegmentId(): string {
  return hex(8);
}

/** `X-Amz-Cf-Id`: 56 base64-ish characters ending in `==`. */
export function newCfId(): string {
  return `${base64ish(54)}==`;
}

/** The distribution's host label in `Via: 1.1 <hex>.cloudfront.net (CloudFront)`. */
export function newCloudFrontHost(): string {
  return `${hex(16)}.cloudfront.net`;
}
