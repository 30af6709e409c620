/**
 * fetchTraces' polling and deadline logic on a virtual clock: the sleeps
 * advance the clock instead of waiting, so minutes of backoff run in
 * milliseconds. Calls still go over HTTP to the lab endpoint with the real
 * XRayClient (whose store shares the virtual clock: traces "arrive" late).
 */
import { XRayClient } from "@aws-sdk/client-xray";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BATCH_GET_TRACES_MAX_IDS,
  buildBatchGetTracesInputs,
  fetchTraces,
} from "../../src/aws/xray/fetch.js";
import { newTraceRoot } from "../../src/aws/xray/trace-id.js";
import type { Clock, Sleep } from "../../src/clock.js";
import { type AwsLab, startAwsLab } from "../../src/lab/aws/server.js";
import { labSegments, XrayStore, xrayHandler } from "../../src/lab/aws/xray.js";

let made = 0;
/** Trace ids never handed out before in this file. */
const ids = (n: number) =>
  Array.from({ length: n }, () =>
    newTraceRoot(1_750_000_000_000, (b) => (++made).toString(16).padStart(b * 2, "0")),
  );

describe("buildBatchGetTracesInputs", () => {
  it("chunks at 5 ids, dedups and drops malformed ids", () => {
    const list = ids(12);
    const inputs = buildBatchGetTracesInputs([...list, list[0]!, "not-a-trace-id"]);
    expect(inputs.map((i) => i.TraceIds?.length)).toEqual([5, 5, 2]);
    expect(inputs.flatMap((i) => i.TraceIds)).toEqual(list);
    expect(BATCH_GET_TRACES_MAX_IDS).toBe(5);
    expect(buildBatchGetTracesInputs(ids(5))).toHaveLength(1);
    expect(buildBatchGetTracesInputs(ids(6)).map((i) => i.TraceIds?.length)).toEqual([5, 1]);
    expect(buildBatchGetTracesInputs([])).toEqual([]);
  });
});

describe("fetchTraces on a virtual clock", () => {
  let wall = 1_750_000_000_000;
  const clock: Clock = { now: () => wall, wallMs: () => wall };
  const sleeps: number[] = [];
  const sleep: Sleep = async (ms) => {
    sleeps.push(ms);
    wall += ms;
  };
  const store = new XrayStore({ clock });
  let lab: AwsLab;
  let client: XRayClient;

  beforeAll(async () => {
    lab = await startAwsLab({ handlers: [xrayHandler(store)] });
    client = new XRayClient({
      endpoint: lab.url,
      region: "us-east-1",
      credentials: { accessKeyId: "a", secretAccessKey: "b" },
    });
  });
  afterAll(async () => {
    client.destroy();
    await lab.close();
  });

  const seg = (id: string) =>
    labSegments({
      atMs: wall,
      method: "GET",
      path: "/",
      traceId: id,
      sampled: true,
      hops: [{ hop: "apigw", startMs: 0, endMs: 10 }],
    });

  it("backs off exponentially (2, 4, 8, 16, 30 s cap) until a trace 60 s late arrives", async () => {
    sleeps.length = 0;
    const [id] = ids(1);
    store.putSegments(id!, seg(id!), { delayMs: 60_000 });
    const t0 = wall;
    const res = await fetchTraces(client, [id!], { pollTimeoutMs: 180_000, clock, sleep });
    expect(res.traces.has(id!)).toBe(true);
    expect(res.missing).toEqual([]);
    expect(sleeps).toEqual([2000, 4000, 8000, 16000, 30000]);
    expect(res.attempts).toBe(6);
    expect(wall - t0).toBe(60_000);
  });

  it("stops at the hard deadline, the last sleep cut short, and reports the ids missing", async () => {
    sleeps.length = 0;
    const batch = ids(7);
    const t0 = wall;
    const res = await fetchTraces(client, batch, { pollTimeoutMs: 20_000, clock, sleep });
    expect(sleeps).toEqual([2000, 4000, 8000, 6000]);
    expect(wall - t0).toBe(20_000);
    expect(res.missing).toEqual(batch);
    // 7 ids = 2 calls per attempt; the last attempt is made at the deadline itself.
    expect(res.attempts).toBe(5);
    expect(res.calls).toBe(10);
  });

  it("keeps polling an incomplete trace (gateway segment in progress) and reports it incomplete at the deadline", async () => {
    sleeps.length = 0;
    const [id] = ids(1);
    store.putSegments(
      id!,
      labSegments({
        atMs: wall,
        method: "GET",
        path: "/",
        traceId: id!,
        sampled: true,
        hops: [{ hop: "apigw", startMs: 0 }],
      }),
    );
    const res = await fetchTraces(client, [id!], { pollTimeoutMs: 5000, clock, sleep });
    expect(res.incomplete).toEqual([id]);
    expect(res.traces.get(id!)?.segments[0]?.inProgress).toBe(true);
  });
});
