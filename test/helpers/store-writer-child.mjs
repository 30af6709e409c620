// Child process for crash and concurrency tests: writes rounds to the store
// built in dist/ and acknowledges each one on stdout once writeRound resolved.
// Usage: node store-writer-child.mjs <dir> <rounds> <seriesCount> <samples>
import { openStore } from "../../dist/record/store.js";

const [dir, roundsArg, seriesArg, samplesArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 1000);
const series = Array.from({ length: Number(seriesArg ?? 8) }, (_, i) => `ep${i}`);
const samples = Number(samplesArg ?? 3);

function record(atMs, seq, endpoint) {
  const total = 10 + ((seq * 7) % 13);
  return {
    atMs,
    seq,
    seriesSeq: seq,
    api: "shop",
    route: "execute-api",
    endpoint,
    method: "GET",
    url: `https://example.invalid/${endpoint}`,
    tag: "probe",
    connection: "fresh",
    phasesMs: { dns: 1, connect: 2, tls: 3, ttfb: total - 7, transfer: 1, total },
    status: 200,
    bytes: 10,
    reused: false,
    assertions: [],
    hopHeaders: {},
    ok: true,
    // padding makes each round several KB, so a kill can land mid-write
    note: "x".repeat(200),
  };
}

const store = await openStore({ dir });
process.stdout.write(`writer ${store.writerId}\n`);
let seq = 0;
for (let id = 1; id <= rounds; id++) {
  const t = Date.now();
  const recs = [];
  for (const ep of series) for (let i = 0; i < samples; i++) recs.push(record(t + i, seq++, ep));
  await store.writeRound(
    { id, kind: "probe", scheduledAtMs: t, startedAtMs: t, endedAtMs: t + 1, latenessMs: 0, skipped: 0 },
    recs,
  );
  process.stdout.write(`ack ${id}\n`);
}
await store.close();
process.stdout.write("done\n");
