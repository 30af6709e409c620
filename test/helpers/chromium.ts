/**
 * Headless Chromium for tests, driven over the DevTools protocol (undici's
 * WebSocket; no browser library): load a page, collect console errors,
 * exceptions, log errors and every network request, evaluate expressions in
 * the page, take a PNG screenshot. Debian's `chromium` package, or the binary
 * in $CHROMIUM; {@link findChromium} is undefined without one so tests can skip.
 * Every wait has a deadline; close() ends the browser it started (by pid).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { WebSocket } from "undici";

export function findChromium(): string | undefined {
  const given = process.env.CHROMIUM;
  if (given && existsSync(given)) return given;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
      const p = join(dir, name);
      if (dir && existsSync(p)) return p;
    }
  }
  return undefined;
}

type Json = Record<string, unknown>;
interface CdpMessage {
  id?: number;
  method?: string;
  params?: Json;
  result?: Json;
  error?: { message: string };
  sessionId?: string;
}

export interface PageEvents {
  /** Console errors and warnings, exceptions, log entries at error level: anything that went wrong. */
  problems: string[];
  /** URLs of every request the page made (the page itself included). */
  requests: string[];
}

export interface ChromiumPage {
  events: PageEvents;
  /** Navigates and waits for the load event (and two animation frames). Clears `events` first. */
  load(url: string, opts?: { colorScheme?: "light" | "dark" }): Promise<void>;
  /** Evaluates an expression in the page; returns its value (JSON-serialisable). */
  evaluate<T>(expression: string): Promise<T>;
  /** A PNG of the viewport, of the whole page, or of a band of the page (CSS pixels from the top). */
  screenshot(opts?: { fullPage?: boolean; band?: { y: number; height: number } }): Promise<Buffer>;
  close(): Promise<void>;
}

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-extensions",
  "--hide-scrollbars",
  "--remote-debugging-port=0",
];

export async function launchChromium(
  opts: { width?: number; height?: number; timeoutMs?: number } = {},
): Promise<ChromiumPage> {
  const bin = findChromium();
  if (!bin) throw new Error("chromium is not installed");
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const profile = await mkdtemp(join(tmpdir(), "sw-chromium-"));
  const child = spawn(bin, [...FLAGS, `--user-data-dir=${profile}`, "about:blank"], {
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let ws: WebSocket | undefined;
  const cleanup = async (): Promise<void> => {
    ws?.close();
    await Promise.race([exited, sleep(3000)]);
    if (child.exitCode === null && child.signalCode === null) killGroup(child);
    await Promise.race([exited, sleep(2000)]);
    await rm(profile, { recursive: true, force: true });
  };
  try {
    const url = await devtoolsUrl(child, timeoutMs);
    ws = new WebSocket(url);
    const socket = ws;
    await withDeadline(
      new Promise((resolve, reject) => {
        socket.addEventListener("open", resolve, { once: true });
        socket.addEventListener("error", () => reject(new Error("DevTools WebSocket failed")), {
          once: true,
        });
      }),
      timeoutMs,
      "DevTools connect",
    );
    const cdp = new Cdp(socket, timeoutMs);
    const { targetId } = (await cdp.send("Target.createTarget", { url: "about:blank" })) as {
      targetId: string;
    };
    const { sessionId } = (await cdp.send("Target.attachToTarget", { targetId, flatten: true })) as {
      sessionId: string;
    };
    const send = (method: string, params: Json = {}): Promise<Json> => cdp.send(method, params, sessionId);
    const events: PageEvents = { problems: [], requests: [] };
    cdp.onEvent = (m) => {
      const p = m.params ?? {};
      if (
        m.method === "Runtime.consoleAPICalled" &&
        ["error", "warning", "assert"].includes(String(p.type))
      ) {
        const args = (p.args as { value?: unknown; description?: string }[] | undefined) ?? [];
        events.problems.push(
          `console.${String(p.type)}: ${args.map((a) => a.description ?? String(a.value)).join(" ")}`,
        );
      } else if (m.method === "Runtime.exceptionThrown") {
        const d = p.exceptionDetails as { text?: string; exception?: { description?: string } } | undefined;
        events.problems.push(`exception: ${d?.exception?.description ?? d?.text ?? "?"}`);
      } else if (m.method === "Log.entryAdded") {
        const e = p.entry as { level?: string; text?: string; source?: string } | undefined;
        if (e && (e.level === "error" || e.level === "warning"))
          events.problems.push(`log ${e.source}/${e.level}: ${e.text}`);
      } else if (m.method === "Network.requestWillBeSent") {
        events.requests.push(String((p.request as { url?: string } | undefined)?.url));
      }
    };
    for (const domain of ["Runtime", "Log", "Page", "Network"]) await send(`${domain}.enable`);
    await send("Emulation.setDeviceMetricsOverride", {
      width: opts.width ?? 1200,
      height: opts.height ?? 2000,
      deviceScaleFactor: 1,
      mobile: false,
    });
    const evaluate = async <T>(expression: string): Promise<T> => {
      const r = (await send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true })) as {
        result: { value?: T };
        exceptionDetails?: { text?: string };
      };
      if (r.exceptionDetails) throw new Error(`evaluate failed: ${r.exceptionDetails.text}`);
      return r.result.value as T;
    };
    return {
      events,
      async load(pageUrl, o = {}) {
        events.problems.length = 0;
        events.requests.length = 0;
        await send("Emulation.setEmulatedMedia", {
          features: [{ name: "prefers-color-scheme", value: o.colorScheme ?? "light" }],
        });
        const loaded = cdp.waitFor("Page.loadEventFired", sessionId);
        await send("Page.navigate", { url: pageUrl });
        await loaded;
        await evaluate(
          "new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))",
        );
      },
      evaluate,
      async screenshot(o = {}) {
        const params: Json = { format: "png" };
        if (o.fullPage || o.band) {
          const m = (await send("Page.getLayoutMetrics")) as {
            cssContentSize: { width: number; height: number };
          };
          const { width, height } = m.cssContentSize;
          const y = Math.min(o.band?.y ?? 0, height - 1);
          params.captureBeyondViewport = true;
          params.clip = { x: 0, y, width, height: Math.min(o.band?.height ?? height, height - y), scale: 1 };
        }
        const { data } = (await send("Page.captureScreenshot", params)) as { data: string };
        return Buffer.from(data, "base64");
      },
      async close() {
        await cdp.send("Browser.close").catch(() => undefined);
        await cleanup();
      },
    };
  } catch (err) {
    killGroup(child);
    await cleanup();
    throw err;
  }
}

class Cdp {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: Json) => void; reject: (e: Error) => void }>();
  private readonly waiters: { method: string; sessionId?: string | undefined; resolve: () => void }[] = [];
  onEvent: (m: CdpMessage) => void = () => undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly timeoutMs: number,
  ) {
    ws.addEventListener("message", (ev) => {
      const m = JSON.parse(String(ev.data)) as CdpMessage;
      if (m.id !== undefined) {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error) p?.reject(new Error(m.error.message));
        else p?.resolve(m.result ?? {});
        return;
      }
      this.onEvent(m);
      for (const w of [...this.waiters]) {
        if (w.method === m.method && (w.sessionId === undefined || w.sessionId === m.sessionId)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    });
  }

  send(method: string, params: Json = {}, sessionId?: string): Promise<Json> {
    const id = this.nextId++;
    const done = new Promise<Json>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    return withDeadline(done, this.timeoutMs, method);
  }

  waitFor(method: string, sessionId?: string): Promise<void> {
    return withDeadline(
      new Promise<void>((resolve) => this.waiters.push({ method, sessionId, resolve })),
      this.timeoutMs,
      method,
    );
  }
}

async function devtoolsUrl(child: ChildProcess, timeoutMs: number): Promise<string> {
  let text = "";
  return withDeadline(
    new Promise<string>((resolve, reject) => {
      child.stderr?.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(text);
        if (m?.[1]) resolve(m[1]);
      });
      child.once("exit", (code) => reject(new Error(`chromium exited (${code}): ${text.slice(-500)}`)));
    }),
    timeoutMs,
    "chromium start",
  );
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
