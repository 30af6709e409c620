// BENCHMARKS.md from one run's results: the machine, the command, a headline
// table, then each benchmark's table with what it measures.
import { fmt, fmtRatio, fmtSigned, mdTable } from "./lib.mjs";

function headline(r) {
  const rows = [];
  const acc = r.accuracy?.figures;
  if (acc) {
    const ttfb = (k) => acc[k]?.find((x) => x.phase === "ttfb");
    const conn = acc.kernel?.rows?.find((x) => x.phase === "connect");
    for (const k of ["http 0 ms", "http 50 ms", "http 1000 ms"]) {
      const t = ttfb(k);
      if (t)
        rows.push([
          `ttfb accuracy, ${k.replace("http ", "")} before headers`,
          `median ${fmt(t.medianDiffMs, 2)} ms, p90 abs diff ${fmt(t.p90AbsDiffMs, 2)} ms vs curl`,
          "–",
        ]);
    }
    if (conn)
      rows.push([
        "connect accuracy, dropped SYN (1 s)",
        `median ${fmt(conn.medianDiffMs, 2)} ms, p90 abs diff ${fmt(conn.p90AbsDiffMs, 2)} ms vs curl`,
        "–",
      ]);
  }
  for (const f of r.overhead?.figures ?? []) {
    rows.push([
      `throughput vs bare undici, ${f.label ?? f.mode}, concurrency ${f.concurrency}`,
      `${fmtRatio(f.ratio)} (p50 ${f.p50DiffUs >= 0 ? "+" : ""}${fmt(f.p50DiffUs, 0)} µs)`,
      `≥ 0.90× — ${f.ratio >= 0.9 ? "met" : "NOT met"}`,
    ]);
  }
  const ac = r.autocannon?.figures;
  if (ac) rows.push(["throughput vs autocannon, 10 connections", fmtRatio(ac.ratio), "–"]);
  const mem = r.memory;
  if (mem?.figures) {
    const h = mem.figures["hist-synthetic"];
    const s = mem.figures["runner-synthetic"];
    if (h)
      rows.push([
        `RSS, ${h.count.toLocaleString("en-US")} records into histograms only`,
        `${fmt(h.rssMB, 0)} MB`,
        `< ${mem.goalMB} MB — ${h.rssMB < mem.goalMB ? "met (this path only)" : "NOT met"}`,
      ]);
    if (s)
      rows.push([
        `RSS, ${s.count.toLocaleString("en-US")} requests through runProbes, records retained (the default)`,
        `${fmt(s.rssMB, 0)} MB`,
        `< ${mem.goalMB} MB — ${s.rssMB < mem.goalMB ? "met" : "NOT met"}`,
      ]);
    const g = mem.figures["runner-stream-real"];
    if (g)
      rows.push([
        `RSS, ${g.count.toLocaleString("en-US")} real requests through runProbes, retainRecords: false + histograms`,
        `${fmt(g.rssMB, 0)} MB after GC (peak ${fmt(g.maxRssMB, 0)} MB)`,
        `< ${mem.goalMB} MB — ${mem.goalMet ? "met" : "NOT met (after GC and at peak)"}`,
      ]);
  }
  const fl = r.fleet?.figures;
  if (fl) {
    rows.push([
      "1,000 endpoints × 3 routes every minute, one prober: schedule lateness p50 / p99",
      `${fmt(fl.latenessP50Ms, 0)} / ${fmt(fl.latenessP99Ms, 0)} ms over ${fl.rounds} rounds, ${fl.skipped} skipped`,
      `p99 < 1 s, none skipped — ${fl.latenessP99Ms < 1000 && fl.skipped === 0 ? "met" : "NOT met"}`,
    ]);
    rows.push([
      "same: prober CPU, RSS, bytes to the S3 store",
      `${fmt(fl.cpuPct, 1)} % of a core, ${fmt(fl.rssMaxMB, 0)} MB max RSS, ${fmt(fl.mbPerDay, 0)} MiB/day`,
      "–",
    ]);
  }
  const st = r.startup?.figures;
  if (st)
    rows.push([
      "start-up, `stallwatch --help`",
      `${fmt(st["stallwatch --help"].medianMs, 0)} ms (${fmtRatio(st["stallwatch --help"].medianMs / st["node -e 0"].medianMs)} node -e 0)`,
      "–",
    ]);
  return mdTable(["figure", "result", "goal"], rows);
}

const section = (r, name, title, intro) => {
  const s = r[name];
  if (!s) return "";
  if (s.error) return `## ${title}\n\nFAILED in this run:\n\n\`\`\`\n${s.error}\n\`\`\`\n`;
  return `## ${title}\n\n${intro(s)}\n\n${s.table}\n\n(${fmt(s.seconds, 0)} s)\n`;
};

/** Observations computed from this run's figures (what to read out of the tables). */
function notes(r) {
  const out = [];
  const acc = r.accuracy?.figures;
  if (acc) {
    const http = ["http 0 ms", "http 50 ms", "http 1000 ms"].flatMap((k) => acc[k] ?? []);
    const worst = (phase) =>
      Math.max(...http.filter((x) => x.phase === phase).map((x) => Math.abs(x.medianDiffMs)));
    out.push(
      `- Over HTTP the median paired difference stays within ${fmt(worst("connect"), 2)} ms for connect, ` +
        `${fmt(worst("ttfb"), 2)} ms for ttfb and ${fmt(worst("transfer"), 2)} ms for transfer, across 0 ms, 50 ms and 1 s ` +
        "before headers. The p90 of the absolute difference is wider (milliseconds): on a shared 2-core machine a " +
        "pair's two requests meet different scheduling, so it reflects the machine's noise as much as either tool.",
    );
    out.push(
      "- stallwatch's `total` holds ~1 ms that no phase accounts for (the *unattributed* row: per-probe set-up " +
        "before the lookup and hand-offs between phases); curl's holds ~0.1 ms.",
    );
    const h = acc["https 0 ms"];
    const v = (phase, tool) => h?.find((x) => x.phase === phase)?.[tool] ?? Number.NaN;
    if (h)
      out.push(
        `- HTTPS: the tls/ttfb boundary differs. stallwatch tls ${fmt(v("tls", "swMedianMs"), 1)} + ttfb ` +
          `${fmt(v("ttfb", "swMedianMs"), 1)} ms; curl tls ${fmt(v("tls", "curlMedianMs"), 1)} + ttfb ` +
          `${fmt(v("ttfb", "curlMedianMs"), 1)} ms (0 ms delay, medians). curl's appconnect includes loading ` +
          "its CA file per process; the prober builds its secure context once. Why stallwatch's HTTPS ttfb sits " +
          "above curl's (see the median diff) when its HTTP ttfb does not is not explained by this benchmark: " +
          "worth a look at where the " +
          "prober takes `tlsEnd` and `sent` on TLS sockets.",
      );
  }
  const ov = r.overhead?.figures;
  if (ov?.length) {
    const missed = ov.filter((f) => f.ratio < 0.9);
    const cpu = ov
      .map((f) => `${f.label ?? f.mode}/${f.concurrency}: ${fmtSigned(f.swCpuUs - f.bareCpuUs, 0)} µs`)
      .join(", ");
    out.push(
      (missed.length === 0
        ? `- Overhead: every case meets the ≥ 0.9× goal (${ov.map((f) => `${f.label ?? f.mode}/${f.concurrency}: ${fmtRatio(f.ratio)}`).join(", ")}). `
        : `- Overhead: the ≥ 0.9× goal is missed in ${missed.length} of ${ov.length} cases ` +
          `(${missed.map((f) => `${f.label ?? f.mode}/${f.concurrency}: ${fmtRatio(f.ratio)}`).join(", ")}). `) +
        `Client CPU per request, stallwatch minus bare (medians): ${cpu}. ` +
        "Per probe, stallwatch does work a bare loop does not: the phase timestamps (diagnostics channels, " +
        "one wrapped connector per connection), a hard deadline (one timer shared by all probes in flight), " +
        "failure classification, the event-loop lag monitor's 10 ms sampler and a record kept per request. " +
        "What once cost most was garbage collection: per-request entries in Maps, Sets and WeakMaps kept each " +
        "request's young objects alive through scavenges (2.7 MB promoted per scavenge against 0.1 MB for the " +
        "bare loop); they are gone.",
    );
  }
  const mem = r.memory?.figures;
  if (mem?.["stream-real"])
    out.push(
      `- Even without retention, the prober's process sits at ${fmt(mem["stream-real"].rssMB, 0)} MB RSS ` +
        `(peak ${fmt(mem["stream-real"].maxRssMB, 0)} MB; ${fmt(mem["stream-real"].baselineRssMB, 0)} MB right after ` +
        "loading its modules), close to the 150 MB goal; its heap stays small, the rest is Node/undici buffers " +
        "and memory V8 does not hand back.",
    );
  return out.join("\n");
}

export function renderMarkdown(r, meta) {
  const e = meta.env;
  return `# Benchmarks

Generated by \`${meta.command}\` on ${meta.startedAt} (${fmt(meta.seconds, 0)} s${meta.quick ? ", quick mode: fewer samples" : ""}).
${meta.dist ? `The build under test was a private \`tsc -p tsconfig.build.json\` output of the same sources (\`BENCH_DIST=${meta.dist}\`), because other work was rebuilding \`dist/\` during the run.\n` : ""}Every figure below comes from that one run; the tools were measured side by side, interleaved or alternated.
Benchmarks print figures and never assert speed: re-run them on your machine with the same command.

| machine | |
|---|---|
| CPU | ${e.cpu} |
| cores | ${e.cores} |
| Node | ${e.node} |
| kernel | ${e.kernel} |
| curl | ${e.curl} |
| load average (1, 5, 15 min) at start | ${e.loadavg} |
| load average at end | ${meta.loadEnd} |

A load average above the core count means other work shared the CPU during the run: ratios (measured
side by side) hold up better than absolute figures.

How it runs: \`npm run bench\` builds \`dist/\` and runs \`bench/run.mjs\`, plain Node ESM importing the
built modules (\`dist/probe/prober.js\`, \`dist/probe/runner.js\`, …) and the built CLI. The test server
(\`bench/server.mjs\`) and every measured load run are separate processes. \`BENCH_QUICK=1\` takes fewer
samples; \`BENCH_ONLY=accuracy,overhead,autocannon,memory,startup,fleet\` runs a subset.

## Headline

${headline(r)}

${notes(r)}

${section(
  r,
  "accuracy",
  "1. Timing accuracy beside curl",
  (s) => `One local server (own process), ${s.hostNote}. Each pair is one stallwatch probe (in-process prober,
\`fresh\` mode: new lookup, socket and TLS handshake) and one \`curl -w\` run (a new process, so a new connection),
back to back, alternating which goes first; two warm-up pairs are discarded. curl's cumulative times become
phases: dns = namelookup, connect = connect − namelookup, tls = appconnect − connect, ttfb = starttransfer −
pretransfer, transfer = total − starttransfer; *unattributed* = total − the sum of those phases (time inside
\`total\` no phase accounts for: set-up before the lookup, scheduling between phases). The difference is per pair (stallwatch − curl); the table gives its
median and the 90th percentile of its absolute value. HTTPS uses a throwaway self-signed certificate trusted
explicitly by both tools (\`--cacert\`, the prober's \`ca\` option) and HTTP/1.1 for both.

The dropped-SYN rows run in a network namespace of our own where iptables drops every other SYN to the server,
so every connection loses its first SYN and waits for the kernel's 1 s retransmission; there each stallwatch
sample is a whole \`node dist/cli/main.js report --url … --json --count 1 --connection fresh\` run inside the
namespace (a cold process, phases read from its report), beside curl in the same namespace. Result: ${s.kernelNote}.`,
)}
${section(
  r,
  "overhead",
  "2. Overhead beside a bare undici loop",
  (
    s,
  ) => `Same server (warmed first with 20,000 unmeasured requests, so its own JIT warm-up favours neither tool), same concurrency,
same request count (after unmeasured warm-up requests in each run: 2,000 reuse, 500 fresh), each run a
process of its own, alternating which tool goes first over ${s.figures[0]?.rounds ?? "several"} rounds. *Bare* is
\`undici.request\` on a \`Pool\` (reuse) or a throwaway \`Client\` with \`reset: true\` (fresh), body consumed, nothing
else. *stallwatch* is \`runProbes\` with \`createProber\` and the event-loop lag monitor, as \`stallwatch report\`
runs it: every phase timed, failures classified, a deadline per request, a record per request kept. The
*records streamed* row is the same prober and runner keeping no records (\`retainRecords: false\`, each record handed
to \`onRecord\`, as the daemon's histograms and the memory benchmark's streamed rows take them): the difference between
the two reuse/8 rows is the price of keeping every record for the diagnosis (garbage collection of a growing heap). Throughput
ratio = the median over rounds of (stallwatch req/s ÷ bare req/s) for the two runs of each round (a paired estimate: the
machine's drift falls on both runs of a round alike); the ratio of the mean throughputs is shown beside it; p50 is of each tool's own per-request latency (bare:
around \`request()\`+body; stallwatch: its \`total\` phase); the p50 difference is the median of per-round differences.
*CPU µs/request* is the client process's own user + system CPU time over the measured requests, divided by their
number (median over rounds): it moves less with the machine's noise than throughput does, and at concurrency 1 the
two track each other (every microsecond of client CPU is a microsecond between requests).`,
)}
${section(
  r,
  "autocannon",
  "3. Beside autocannon",
  (
    s,
  ) => `${s.figures.count} requests over 10 connections, ${s.figures.rounds} round(s), alternating. autocannon is a load
generator: it keeps 10 connections open and fires the next request on each as soon as a response completes; its
latency is from writing a request to its response, recorded in whole milliseconds (hence 0 and 1 ms values). The
fair stallwatch counterpart is \`reuse\` mode at concurrency 10 (one keep-alive pool, 10 probes in flight), whose
latency is each record's \`total\` phase in microseconds and also covers its per-probe work (context, deadline
timer, classification). stallwatch is not a load generator; this shows the price of its per-request detail.`,
)}
${section(
  r,
  "memory",
  "4. Memory",
  (
    s,
  ) => `Each row is a process of its own (\`--expose-gc\`), RSS read after a full GC while the run's result is still held.
The goal is < ${s.goalMB} MB after one million requests with constant-memory histograms.

\`runProbes\` (src/probe/runner.ts) keeps every \`RequestRecord\` by default (the report's diagnosis reads them
all): about ${fmt(s.figures["runner-real"]?.heapBytesPerRecord, 0)} bytes of heap per real record here, i.e.
~${fmt(s.projected1MMB, 0)} MB for one million (the \`runner-synthetic\` row measures the
${s.big.toLocaleString("en-US")} case directly, with a prober answering from memory to skip the network's time).
With \`retainRecords: false\` the runner streams each record to \`onRecord\` and keeps nothing per request: the
\`runner-stream-*\` rows feed a \`HistogramSet\` that way. Its heap stays around 10 MB; the rest of its RSS is
young-generation space V8 reserves but does not use, and the node binary's own pages. Today \`report\` and the
daemon keep records (a daemon round is bounded); a \`report --count 1000000\` would not be. Real-request rows use ${s.real.toLocaleString("en-US")} requests to stay within
the time budget; autocannon is shown beside them.`,
)}
${section(
  r,
  "startup",
  "5. Start-up",
  (s) => `Wall time of each command (${s.tool}), stdout discarded. \`node -e 0\` is Node's own floor;
\`curl --version\` a native baseline.`,
)}
${section(
  r,
  "fleet",
  "6. One prober of a fleet: 1,000 endpoints × 3 routes every minute, rounds to S3",
  (
    s,
  ) => `\`stallwatch daemon\` (the built CLI, its own process) with cron \`* * * * *\`, 1,000 endpoints on each of 3 routes
(three local server processes, one per route), one sample per target in each connection mode (\`both\`: a fresh
connection and a reused one), 16 requests in flight, every round written to the S3 store (\`store.url\`) on a local
s3rver in the benchmark's process. The run is bounded: ${s.figures.rounds} rounds (\`FLEET_ROUNDS\`), then SIGTERM.
Lateness is the scheduler's (triggered − scheduled, from each round's log line), duration covers probing and the
upload. CPU is the prober's own utime + stime from /proc over the whole run (idle time between rounds included),
RSS is sampled every 250 ms. Bytes are what the store holds after the run (gzip'd records and \`.hlog\`), per stored
round, and times 1,440 for a day. The servers and s3rver share the same 2 cores: the round duration includes that
contention.`,
)}`;
}
