/**
 * The S3 store's keys and writer names: URLs parsed or refused with a clear
 * message, round keys that parse back, and the default writer from the ECS
 * task metadata (a fake metadata endpoint on loopback).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { resolveWriter } from "../../src/app/writer-name.js";
import { StallwatchError } from "../../src/errors.js";
import { ecsTaskId, parseRoundKey, parseS3Url, roundKeys } from "../../src/record/s3/layout.js";

describe("S3 locations and keys", () => {
  it("parses s3://bucket[/prefix] and refuses anything else with exit code 2", () => {
    expect(parseS3Url("s3://probe-fleet/a/b/")).toEqual({ bucket: "probe-fleet", prefix: "a/b" });
    expect(parseS3Url("s3://probe-fleet")).toEqual({ bucket: "probe-fleet", prefix: "" });
    for (const bad of ["s3://", "s3://UPPER/x", "https://b/x", "s3://a"]) {
      let err: unknown;
      try {
        parseS3Url(bad, "--from");
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(StallwatchError);
      expect((err as StallwatchError).exitCode).toBe(2);
      expect((err as Error).message).toMatch(/^--from: expected s3:\/\/BUCKET/);
    }
  });

  it("round keys: one day, one writer, start, id and uid; records and hlog keys parse back to each other", () => {
    const t = Date.UTC(2026, 11, 6, 23, 59, 59, 999);
    const k = roundKeys({ bucket: "b", prefix: "fleet" }, "us-west-2a", t, 7, "0a1b2c3d");
    expect(k).toEqual({
      hlog: "fleet/2026-12-06/us-west-2a/1796601599999-7-0a1b2c3d.hlog.gz",
      records: "fleet/2026-12-06/us-west-2a/1796601599999-7-0a1b2c3d.jsonl.gz",
    });
    expect(parseRoundKey(k.records)).toMatchObject({
      day: "2026-12-06",
      writer: "us-west-2a",
      startedAtMs: t,
      roundId: 7,
      kind: "records",
      hlogKey: k.hlog,
    });
    expect(parseRoundKey("fleet/2026-12-06/w/notes.txt")).toBeUndefined();
  });
});

describe("the default writer name", () => {
  it("STALLWATCH_WRITER wins; on ECS the task's AZ from the metadata endpoint; else the task id; else the host", async () => {
    const server = createServer((req, res) => {
      if (req.url === "/v4/abc/task") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ AvailabilityZone: "us-west-2b", TaskARN: "arn:…" }));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    try {
      expect(await resolveWriter({ STALLWATCH_WRITER: "eu probe/1" })).toEqual({
        writer: "eu_probe_1",
        from: "env",
      });
      expect(
        await resolveWriter({ ECS_CONTAINER_METADATA_URI_V4: `http://127.0.0.1:${port}/v4/abc` }),
      ).toEqual({
        writer: "us-west-2b",
        from: "ecs-az",
      });
      // Metadata not answering usefully: the task id in the URI itself.
      const uri = `http://127.0.0.1:${port}/v4/0123456789abcdef0123456789abcdef-1234567890`;
      expect(ecsTaskId({ ECS_CONTAINER_METADATA_URI_V4: uri })).toBe("0123456789abcdef0123456789abcdef");
      expect(await resolveWriter({ ECS_CONTAINER_METADATA_URI_V4: uri })).toEqual({
        writer: "ecs-0123456789abcdef0123456789abcdef",
        from: "ecs-task",
      });
      expect((await resolveWriter({})).from).toBe("host");
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
