/**
 * The AWS integration end to end with the real SDK clients over HTTP against
 * the lab's AWS endpoint, fed by the simulated stack (src/lab/aws/feed.ts):
 * a short bad-target run with X-Ray, the NLB target group and CloudWatch
 * enabled (app/aws.ts's sources and sink, run by the pipeline). The stalls break down to the
 * backend from their traces, the unhealthy target is a finding, CloudWatch's
 * percentiles of what was published match the local histograms, and an
 * outage of CloudWatch loses nothing (spool).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { afterEach, describe, expect, it } from "vitest";
import { type AwsParts, awsParts } from "../../src/app/aws.js";
import { eachSource } from "../../src/app/evidence/source.js";
import { runPipeline } from "../../src/app/pipeline.js";
import { createRoundRunner, type RoundOutcome } from "../../src/app/round.js";
import { type LoadedConfig, parseConfig } from "../../src/config/load.js";
import { type LabAws, startLabAws, withLabAws } from "../../src/lab/aws/feed.js";
import { type Lab, labConfig, startLab } from "../../src/lab/index.js";
import { BAD_TARGET_INDEX } from "../../src/lab/scenarios.js";
import { HistogramSet, statsOf } from "../../src/record/histograms.js";

let lab: Lab | undefined;
let labAws: LabAws | undefined;
let aws: AwsParts | undefined;
let tmp: string | undefined;
const logs: string[] = [];
const log = (level: string, msg: string, fields?: Record<string, unknown>) =>
  logs.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);

afterEach(async () => {
  await aws?.close();
  await labAws?.close();
  await lab?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  aws = undefined;
  labAws = undefined;
  lab = undefined;
  tmp = undefined;
  logs.length = 0;
});

/** A bad-target lab with its AWS side, and a config probing it with every AWS feature on. */
async function setUp(probe: Record<string, unknown>): Promise<LoadedConfig> {
  lab = await startLab({
    scenario: "bad-target",
    // Slow target 600 ms; the scenario's own flapping slowed down so the pinned state below holds.
    timings: { slowMs: 600, healthFlapPeriodMs: 600_000, healthCheckIntervalMs: 100 },
    seed: 11,
  });
  labAws = await startLabAws(lab, { traceDelayMs: 50, nlbMetricsIntervalMs: 200 });
  tmp = mkdtempSync(join(tmpdir(), "sw-aws-int-"));
  const input = withLabAws(labConfig(lab), labAws, { spoolDir: join(tmp, "spool"), pollTimeoutS: 3 });
  return parseConfig({ ...input, probe, store: { dir: join(tmp, "data") } });
}

const quietProbe = { count: 4, concurrency: 2, connection: "fresh", stallMs: 400, timeoutMs: 5000 };

describe("AWS integration against the lab's endpoints", () => {
  it("breaks stalls down by X-Ray, finds the unhealthy target, publishes percentiles CloudWatch agrees with", async () => {
    const loaded = await setUp(quietProbe);
    const current = lab as Lab;
    // The health checker marks the slow target unhealthy (Target.Timeout) for the whole run.
    const bad = current.targets[BAD_TARGET_INDEX]!;
    current.setTargetHealth(bad.id, { state: "unhealthy", reason: "Target.Timeout" });

    aws = awsParts(loaded, { log, endpointUrl: labAws!.url, traceInitialDelayMs: 100 });
    // The endpoint goes to the integration's own clients: the environment is left as it was.
    expect(process.env.AWS_ENDPOINT_URL).toBeUndefined();
    expect(aws.features).toMatchObject({ xrayHeader: true, targetHealth: true, publish: true });
    expect(aws.sources.map((x) => x.name)).toEqual(["target-health", "xray", "cloudwatch-metrics"]);
    expect((await eachSource(aws.sources, (x) => x.before?.())).notes).toEqual([]);
    const res = await runPipeline({
      loaded,
      probe: { warmUp: false },
      sources: aws.sources,
      before: false,
      pollMs: 200,
      ...(aws.metrics ? { metrics: aws.metrics } : {}),
    });
    const run = { records: res.records };
    expect(run.records.every((r) => r.ok && r.traceId !== undefined)).toBe(true);

    const stalls = res.stalls;
    // The lab says which requests the bad target served.
    const slowByLab = run.records
      .filter((r) => current.events.findRequest(r.traceId!)?.targetId === bad.id)
      .map((r) => r.seq);
    expect(slowByLab.length).toBeGreaterThanOrEqual(3);
    for (const seq of slowByLab) expect(stalls.map((s) => s.record.seq)).toContain(seq);

    expect(res.failures).toEqual([]);
    const xray = res.evidence.xray!;
    for (const seq of slowByLab) {
      const b = xray.breakdowns.find((x) => x.seq === seq);
      expect(b?.dominant).toBe("backend");
      expect(b?.partsMs.backend).toBeGreaterThan(550);
      expect(b?.gateway.name).toBe(`lab/${current.stage}`);
    }
    expect(res.notes.join("\n")).toMatch(
      /NLB target \S+ \(us-west-2c\) was unhealthy once \(Target\.Timeout\)/,
    );
    expect(res.notes.join("\n")).toMatch(/HealthyHostCount \(Minimum per minute\) in us-west-2c: 0/);

    const diagnosis = res.diagnosis!;
    // The bad target is slow whether reported healthy or not, and X-Ray puts the time in its own segment: the
    // verdict names the target (slow-target); its unhealthy spell and the X-Ray breakdown corroborate it.
    expect(diagnosis.verdict?.cause).toBe("slow-target");
    const badAddress = current.targets[BAD_TARGET_INDEX]!.address;
    expect(diagnosis.verdict?.where).toContain(badAddress);
    expect(diagnosis.findings.find((f) => f.id === "slow-target")!.stalls).toEqual(
      expect.arrayContaining(slowByLab),
    );
    expect(diagnosis.evidence.map((f) => f.id)).toContain("backend-latency");
    expect(
      diagnosis.verdict?.evidence.some((e) => e.source === "target-health" && e.text.includes(badAddress)),
    ).toBe(true);

    // Published distributions: CloudWatch's p50/p99 (GetMetricData) against the local histograms.
    expect(res.publish?.sentDatums).toBeGreaterThan(0);
    expect(res.publish?.pendingBatches).toBe(0);
    const local = new HistogramSet();
    for (const r of run.records) local.recordRecord(r);
    const cw = new CloudWatchClient({
      endpoint: labAws!.url,
      region: "us-west-2",
      credentials: { accessKeyId: "a", secretAccessKey: "b" },
    });
    try {
      const series = [...local.series()];
      const queries = series.flatMap(({ key }, i) =>
        ["p50", "p99"].map((stat) => ({
          Id: `q${i}_${stat}`,
          MetricStat: {
            Metric: {
              Namespace: loaded.config.cloudwatch.namespace,
              MetricName: "Latency",
              Dimensions: [
                { Name: "Api", Value: key.api },
                { Name: "Route", Value: key.route },
                { Name: "Endpoint", Value: key.endpoint },
              ],
            },
            Period: 60,
            Stat: stat,
          },
        })),
      );
      const now = Date.now();
      const out = await cw.send(
        new GetMetricDataCommand({
          MetricDataQueries: queries,
          StartTime: new Date(now - 600_000),
          EndTime: new Date(now + 60_000),
        }),
      );
      expect(series.length).toBe(8);
      series.forEach(({ key }, i) => {
        const h = local.get(key, "total")!;
        const stats = statsOf(h);
        for (const [stat, want] of [
          ["p50", stats.p50],
          ["p99", stats.p99],
        ] as const) {
          const got = out.MetricDataResults?.find((r) => r.Id === `q${i}_${stat}`)?.Values?.[0];
          expect(got, `${key.route} ${key.endpoint} ${stat}`).toBeDefined();
          expect(Math.abs(got! - want) / want).toBeLessThanOrEqual(0.01);
        }
      });
    } finally {
      cw.destroy();
    }
  });

  it("keeps every datum through a CloudWatch outage (spool) and never throws on AWS errors", async () => {
    const loaded = await setUp({ ...quietProbe, count: 2 });
    const parts = awsParts(loaded, {
      log,
      endpointUrl: labAws!.url,
      traceWaitMs: 300,
      traceInitialDelayMs: 100,
    });
    aws = parts;
    const published = () =>
      labAws!.cloudwatch.metrics.datums.filter((d) => d.namespace === loaded.config.cloudwatch.namespace);
    const round = async () => {
      const res = await runPipeline({
        loaded,
        probe: { warmUp: false },
        sources: parts.sources,
        ...(parts.metrics ? { metrics: parts.metrics } : {}),
      });
      return { built: res.publish?.builtDatums ?? 0, res };
    };

    await labAws!.server.faults.down("503", "cloudwatch");
    const a = await round();
    const b = await round();
    expect(a.built).toBeGreaterThan(0);
    expect(a.res.publish).toMatchObject({ sentDatums: 0, droppedDatums: 0 });
    expect(b.res.publish?.pendingBatches).toBeGreaterThanOrEqual(2);
    expect(b.res.notes.join("\n")).toMatch(/CloudWatch publish: .*down|ServiceUnavailable|503/i);
    expect(published()).toHaveLength(0);

    // Everything else still answered while CloudWatch was down.
    expect(a.res.evidence.targetHealth).toBeDefined();
    await labAws!.server.faults.up();
    const c = await round();
    expect(c.res.publish).toMatchObject({ pendingBatches: 0, droppedDatums: 0 });
    // Exactly once: every datum of the three rounds, no duplicates.
    expect(published()).toHaveLength(a.built + b.built + c.built);
    expect(logs.some((l) => l.startsWith("warn metric publish failed"))).toBe(true);
  });

  it("runs as the scheduler's round runner: the round's diagnosis and evidence come back to be stored", async () => {
    const loaded = await setUp({ ...quietProbe, count: 3 });
    const current = lab as Lab;
    current.setTargetHealth(current.targets[BAD_TARGET_INDEX]!.id, { state: "draining" });
    const parts = awsParts(loaded, { log, endpointUrl: labAws!.url, traceInitialDelayMs: 100 });
    aws = parts;
    await eachSource(parts.sources, (x) => x.before?.());
    const outcomes: RoundOutcome[] = [];
    const runner = createRoundRunner(
      {
        ...loaded,
        config: { ...loaded.config, schedule: { ...loaded.config.schedule, samplesPerRound: 3 } },
      },
      {
        sources: parts.sources,
        ...(parts.metrics ? { metrics: parts.metrics } : {}),
        onOutcome: (o) => outcomes.push(o),
        probe: { warmUp: false },
      },
    );
    const signal = new AbortController().signal;
    const probeRound = await runner({ id: 1, kind: "probe", signal, scheduledAtMs: Date.now() });
    const warmRound = await runner({ id: 2, kind: "keep-warm", signal, scheduledAtMs: Date.now() });
    expect(Array.isArray(probeRound)).toBe(false);
    if (Array.isArray(probeRound) || Array.isArray(warmRound)) return;
    expect(outcomes).toHaveLength(2);
    const d = outcomes[0]!.diagnosis!;
    expect(d.verdict?.cause).toBe("slow-target");
    expect(d.evidence.map((f) => f.id)).toContain("backend-latency");
    // What the store gets: the same verdict, the stalls' causes, the evidence of the round's span.
    expect(probeRound.diagnosis?.verdict?.cause).toBe("slow-target");
    expect(probeRound.stalls?.length).toBe(probeRound.diagnosis?.causes.length);
    expect(probeRound.diagnosis?.sources?.xray).toBeDefined();
    expect(probeRound.diagnosis?.sources?.targetHealth).toBeDefined();
    expect(outcomes[1]!.diagnosis).toBeUndefined();
    // A keep-warm round is not diagnosed (no finding, verdict or cause: each stalled ping is `not-diagnosed`);
    // the store keeps the evidence of its span.
    const warmStalls = (warmRound.stalls ?? []).map((x) => x.record.seq);
    expect(warmRound.diagnosis).toMatchObject({
      findings: [],
      evidence: [],
      causes: warmStalls.map((seq) => [seq, "not-diagnosed"]),
      healthy: warmStalls.length === 0,
    });
    expect(warmRound.diagnosis?.verdict).toBeUndefined();
    expect(warmRound.diagnosis?.sources?.targetHealth).toBeDefined();
    expect(warmRound.records.every((r) => r.tag === "keep-warm")).toBe(true);
    expect(outcomes[0]!.result.publish?.sentDatums).toBeGreaterThan(0);
  });

  it("a keep-warm ping that stalls is traced: its X-Ray breakdown is stored with the round", async () => {
    // The slow target (600 ms, over the 400 ms stall line) stays in rotation: a fresh ping lands on it 1 time in 3.
    const loaded = await setUp(quietProbe);
    const parts = awsParts(loaded, { log, endpointUrl: labAws!.url, traceInitialDelayMs: 100 });
    aws = parts;
    await eachSource(parts.sources, (x) => x.before?.());
    const runner = createRoundRunner(loaded, {
      sources: parts.sources,
      ...(parts.metrics ? { metrics: parts.metrics } : {}),
      probe: { warmUp: false },
    });
    const signal = new AbortController().signal;
    let stalled: Exclude<Awaited<ReturnType<typeof runner>>, unknown[]> | undefined;
    const tried: number[] = [];
    for (let id = 1; id <= 12 && !stalled; id++) {
      const got = await runner({ id, kind: "keep-warm", signal, scheduledAtMs: Date.now() });
      if (Array.isArray(got)) throw new Error("the runner returns a round run");
      tried.push(got.records.length);
      if ((got.stalls?.length ?? 0) > 0) stalled = got;
    }
    expect(
      stalled,
      `no keep-warm ping stalled in ${tried.length} rounds of ${tried.join("/")} pings`,
    ).toBeDefined();
    const kept = stalled!.diagnosis!;
    const seqs = stalled!.stalls!.map((x) => x.record.seq);
    expect(kept.causes).toEqual(seqs.map((seq) => [seq, "not-diagnosed"]));
    expect(kept.findings).toEqual([]);
    expect(kept.healthy).toBe(false);
    // The stalled ping's own trace, broken down by hop, is what the store keeps.
    expect(kept.sources?.xray?.breakdowns.length).toBe(seqs.length);
    expect(kept.sourceNotes?.join("\n")).toMatch(/X-Ray: \d+ of \d+ traced stalls broken down/);
  });
});
