/**
 * The HTML report rendered by real headless Chromium (Debian's `chromium`):
 * the page draws (a screenshot with many colours, not one background), has no
 * console errors, exceptions or CSP violations, makes no request but its own
 * file, shows the findings and routes as text (a hostile endpoint name stays
 * text), switches to dark colours, and its sortable tables work.
 * Set HTML_SCREENSHOT_DIR to keep the screenshots for a look.
 */
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectStalls } from "../../src/diagnose/stalls.js";
import { Redactor } from "../../src/redact.js";
import { buildReport } from "../../src/report/build.js";
import { timelineFromRecords, writeHtmlReport } from "../../src/report/html.js";
import { type ChromiumPage, findChromium, launchChromium } from "../helpers/chromium.js";
import { colourCounts, decodePng, pixel } from "../helpers/png.js";
import { fixtureInput, fixtureIntervals, fixtureRecords } from "../unit/report-fixture.js";

const XSS_ENDPOINT = `/<script>window.__pwned=1</script>`;
const XSS_SUMMARY = `<img src=x onerror="window.__pwned=2"> & "quotes"`;
const SECRET = "sk-live-0123456789abcdef";

/** The fixture with a hostile endpoint name, a hostile finding summary and a secret in a failure message. */
function hostileInput(timeline = false) {
  const records = fixtureRecords().map((r) =>
    r.route === "execute-api" && r.endpoint === "/header" ? { ...r, endpoint: XSS_ENDPOINT } : r,
  );
  const bad = records.find((r) => r.seq === 58);
  if (bad?.error) bad.error.message = `HTTP 502 Bad Gateway (x-api-key ${SECRET})`;
  const input = fixtureInput({ records, stalls: detectStalls(records) });
  const diagnosis = input.diagnosis!;
  diagnosis.findings[1]!.summary = XSS_SUMMARY;
  return { ...input, ...(timeline ? { timeline: fixtureIntervals(48) } : {}) };
}

const chromium = findChromium();
if (!chromium) {
  console.warn(
    "html-chromium: chromium is not installed (bash scripts/install-system-deps.sh chromium): skipping",
  );
}

describe.skipIf(!chromium)("HTML report in headless Chromium", () => {
  let dir: string;
  let page: ChromiumPage;
  const redactor = new Redactor({ secretValues: [SECRET] });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sw-html-"));
    page = await launchChromium({ width: 1200, height: 2000 });
  });
  afterAll(async () => {
    await page?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function show(name: string, fileUrl: string, colorScheme: "light" | "dark" = "light") {
    await page.load(fileUrl, { colorScheme });
    const png = await page.screenshot();
    const keep = process.env.HTML_SCREENSHOT_DIR;
    if (keep) {
      await mkdir(keep, { recursive: true });
      await copyFile(join(dir, `${name}.html`), join(keep, `${name}.html`)).catch(() => undefined);
      const { writeFile } = await import("node:fs/promises");
      await writeFile(join(keep, `${name}-${colorScheme}.png`), png);
      const height = await page.evaluate<number>("document.documentElement.scrollHeight");
      for (let y = 0, k = 0; y < height; y += 1400, k++) {
        await writeFile(
          join(keep, `${name}-${colorScheme}-${k}.png`),
          await page.screenshot({ band: { y, height: 1400 } }),
        );
      }
    }
    return decodePng(png);
  }

  it("draws a live-run report (intervals from the records) without errors or requests", async () => {
    const input = hostileInput();
    const report = buildReport(input);
    const file = join(dir, "live.html");
    await writeHtmlReport(file, report, redactor, {
      timeline: timelineFromRecords(input.records, input.stalls),
    });
    const url = pathToFileURL(file).href;
    const img = await show("live", url);

    expect(page.events.problems).toEqual([]);
    expect(page.events.requests).toEqual([url]);
    const colours = colourCounts(img);
    const background = pixel(img, 2, img.height - 2);
    expect(background).toBe(0xffffff);
    expect(colours.size).toBeGreaterThan(100);
    expect(1 - (colours.get(background) ?? 0) / (img.width * img.height)).toBeGreaterThan(0.05);

    const text = await page.evaluate<string>("document.body.innerText");
    for (const s of [
      "tcp-syn-retransmit",
      "timeout",
      "custom-domain",
      "execute-api",
      XSS_ENDPOINT,
      XSS_SUMMARY,
    ]) {
      expect(text).toContain(s);
    }
    expect(text).toContain("[REDACTED]");
    expect(text).not.toContain(SECRET);
    expect(await page.evaluate<unknown>("window.__pwned ?? null")).toBeNull();
    expect(await page.evaluate<number>("document.scripts.length")).toBe(1);
    expect(await page.evaluate<number>("document.querySelectorAll('img').length")).toBe(0);

    // Every stall of the report is a marked point; every mark (interval, stall, bucket, percentile, phase) has a tooltip.
    const marks = await page.evaluate<{ stalls: number; marks: number; untitled: number; charts: number }>(
      `(() => {
        const marks = [...document.querySelectorAll('figure :is(g.iv, path.stall, rect.bar, g.pmark), svg.phasebar rect')];
        return {
          stalls: document.querySelectorAll('#timeline figure path.stall').length,
          marks: marks.length,
          untitled: marks.filter((m) => !m.querySelector(':scope > title')?.textContent).length,
          charts: document.querySelectorAll('#timeline figure.chart').length,
        };
      })()`,
    );
    expect(marks.stalls).toBe(report.stalls.filter((s) => s.tag === undefined).length);
    expect(marks.charts).toBe(report.series.length);
    expect(marks.marks).toBeGreaterThan(60);
    expect(marks.untitled).toBe(0);
  });

  it("draws a history report in dark mode and sorts a table on a header click", async () => {
    const report = buildReport(hostileInput(true));
    const file = join(dir, "history.html");
    await writeHtmlReport(file, report, redactor);
    const url = pathToFileURL(file).href;
    const img = await show("history", url, "dark");

    expect(page.events.problems).toEqual([]);
    expect(page.events.requests).toEqual([url]);
    const background = pixel(img, 2, img.height - 2);
    const [r, g, b] = [background >> 16, (background >> 8) & 0xff, background & 0xff];
    expect(r + g + b).toBeLessThan(120);
    expect(colourCounts(img).size).toBeGreaterThan(100);
    const intervals = await page.evaluate<number>("document.querySelectorAll('#timeline g.iv').length");
    expect(intervals).toBe(48);

    const firstStall = (): Promise<string> =>
      page.evaluate<string>("document.querySelector('#stalls tbody tr th').textContent");
    expect(await firstStall()).toBe("#13");
    await page.evaluate("document.querySelectorAll('#stalls thead th button')[3].click(), true");
    await page.evaluate("document.querySelectorAll('#stalls thead th button')[3].click(), true");
    expect(await firstStall()).toBe("#90"); // total ms, descending: the 10 s timeout first
    expect(page.events.problems).toEqual([]);
  });
});
