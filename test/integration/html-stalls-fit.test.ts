/**
 * The HTML stalls and failures tables fit their column and wrap: full-length
 * API Gateway request ids, X-Ray trace ids and IPv6 addresses used to push the
 * table (ids, then cause) off-screen. Measured in real headless Chromium at a
 * laptop-sized and a narrow viewport.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectStalls } from "../../src/diagnose/stalls.js";
import { Redactor } from "../../src/redact.js";
import { buildReport } from "../../src/report/build.js";
import { writeHtmlReport } from "../../src/report/html.js";
import { type ChromiumPage, findChromium, launchChromium } from "../helpers/chromium.js";
import { fixtureInput, fixtureRecords } from "../unit/report-fixture.js";

const chromium = findChromium();

/** The fixture with real-length ids: a 36-char request id, a full X-Ray trace id, an IPv6 address. */
function longIdInput() {
  const records = fixtureRecords().map((r) => ({
    ...r,
    requestId: `c8a5f7e2-1b3d-4e6f-9a0b-${String(r.seq).padStart(12, "0")}`,
    traceId: `Root=1-6632a1b2-${String(r.seq).padStart(24, "0")};Parent=53995c3f42cd8ad8;Sampled=1`,
    remoteAddress: `2600:1f14:0abc:de00:1234:5678:9abc:${String(r.seq % 10000).padStart(4, "0")}`,
  }));
  return fixtureInput({ records, stalls: detectStalls(records) });
}

describe.skipIf(!chromium)("HTML stalls table in headless Chromium", () => {
  let dir: string;
  const pages: ChromiumPage[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sw-html-fit-"));
  });
  afterAll(async () => {
    for (const p of pages) await p.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const width of [1280, 800]) {
    it(`fits and wraps at ${width} px`, async () => {
      const page = await launchChromium({ width, height: 1600 });
      pages.push(page);
      const input = longIdInput();
      const report = buildReport(input);
      expect(report.stalls.length).toBeGreaterThan(0);
      const file = join(dir, `fit-${width}.html`);
      await writeHtmlReport(file, report, Redactor.none());
      await page.load(pathToFileURL(file).href);
      expect(page.events.problems).toEqual([]);
      const m = await page.evaluate<{ table: number; box: number; rows: number; ids: string }[]>(
        `[...document.querySelectorAll('#stalls table, #failures table')].map((t) => ({
          table: t.scrollWidth,
          box: t.parentElement.clientWidth,
          rows: t.tBodies[0].rows.length,
          ids: t.tBodies[0].rows[0].lastElementChild.innerText,
        }))`,
      );
      expect(m.length).toBe(2);
      for (const t of m) {
        expect(t.rows).toBeGreaterThan(0);
        expect(t.table).toBeLessThanOrEqual(t.box);
      }
      // Nothing was cut: the whole request id is in the cell, wrapped rather than hidden.
      expect(m[0]?.ids.replace(/\s+/g, "")).toContain("c8a5f7e2-1b3d-4e6f-9a0b-");
    }, 60_000);
  }
});
