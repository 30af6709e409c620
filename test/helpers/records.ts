/** A minimal RequestRecord for unit tests: one probe of series a / r / `/`, fresh connection, ok; override the rest. */
import type { RequestRecord } from "../../src/model.js";

export function makeRecord(over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    atMs: 0,
    seq: 0,
    seriesSeq: 0,
    api: "a",
    route: "r",
    endpoint: "/",
    method: "GET",
    url: "http://x/",
    tag: "probe",
    connection: "fresh",
    phasesMs: {},
    bytes: 0,
    reused: false,
    assertions: [],
    hopHeaders: {},
    ok: true,
    ...over,
  };
}
