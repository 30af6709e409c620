/**
 * One probe's exchange as a single object: the timing context timing.ts fills
 * in (ProbeContext), what the response produced so far (ExchangeState), and
 * the undici dispatch handler that feeds both. The prober subclasses it with
 * the probe's own bookkeeping: one object per request instead of a context,
 * a state, a handler and half a dozen closures: at thousands of
 * probes a second the prober's own allocations were most of its garbage.
 *
 * No Readable body stream, async iterator or AbortController per request
 * (what `dispatcher.request()` costs); the phase timestamps come from
 * timing.ts's diagnostics channels, which undici publishes before it calls a
 * handler, so handler work never shifts them.
 */
import type { Socket } from "node:net";
import type { Dispatcher } from "undici";
import type { Clock } from "../clock.js";
import type { ProbeTimestamps, TlsInfo } from "../model.js";
import type { HeaderBag } from "./outcome.js";
import type { ExchangeState } from "./result.js";
import type { ConnInfo, ProbeContext } from "./timing.js";

export abstract class Exchange implements ProbeContext, ExchangeState, Dispatcher.DispatchHandler {
  // ProbeContext
  readonly t: ProbeTimestamps;
  request?: object;
  conn?: ConnInfo;
  socket?: Socket;
  reused = false;
  socketIdleMs?: number;
  tls?: TlsInfo;
  bodyEndAt?: number;
  // ExchangeState
  status?: number;
  headers?: HeaderBag;
  flatHeaders?: Record<string, string>;
  body?: string;
  bytes = 0;
  bodyDone = false;
  tooLarge = false;
  keepCutAt?: number;

  private controller: Dispatcher.DispatchController | undefined;
  private abortReason: Error | undefined;
  private chunks: Buffer[] | undefined;
  private kept = 0;
  private finished = false;

  /**
   * @param keepBody keep the body text (an assertion reads it)
   * @param maxBodyBytes beyond this many body bytes the exchange stops (`tooLarge`)
   * @param maxKeepBytes beyond this many body bytes the text is no longer kept (`keepCutAt`), the body still read
   */
  constructor(
    readonly clock: Clock,
    readonly origin: string,
    readonly path: string,
    readonly method: string,
    keepBody: boolean,
    private readonly maxBodyBytes: number,
    private readonly maxKeepBytes: number = Number.POSITIVE_INFINITY,
  ) {
    // `start` is taken by the subclass when it sends the request (a reuse
    // probe waits for a check phase first); NaN until then, never a guess.
    this.t = { start: Number.NaN };
    this.chunks = keepBody ? [] : undefined;
  }

  /** Stop the request (and its socket, when it is on one); safe before it started and after it ended. */
  abort(reason: Error): void {
    if (this.controller) this.controller.abort(reason);
    else this.abortReason ??= reason;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortReason) controller.abort(this.abortReason);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // 1xx: the final response is still to come
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.tooLarge) return;
    this.bytes += chunk.length;
    if (this.bytes > this.maxBodyBytes) {
      this.tooLarge = true;
      this.keepText();
      this.finish(undefined);
      // Stopping mid-body leaves the socket unusable: aborting destroys it.
      controller.abort(new Error("response body exceeded the cap"));
      return;
    }
    if (!this.chunks) return;
    this.kept += chunk.length;
    if (this.kept > this.maxKeepBytes) {
      // Held for an assertion only: drop it rather than hold up to maxBodyBytes per request in flight.
      this.chunks = undefined;
      this.keepCutAt = this.maxKeepBytes;
      return;
    }
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.keepText();
    this.bodyDone = true;
    this.finish(undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    this.finish(err);
  }

  private keepText(): void {
    if (this.chunks) this.body = Buffer.concat(this.chunks).toString("utf8");
  }

  private finish(err: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.exchangeDone(err);
  }

  /** Called once, when the exchange is over: `err` undefined for a complete (or capped) response. */
  protected abstract exchangeDone(err: unknown): void;
}
