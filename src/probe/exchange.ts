/**
 * One HTTP exchange as an undici dispatch handler: status, headers, body
 * bytes (and text when an assertion needs it) into an ExchangeState, one
 * callback when it is over. No Readable body stream, async iterator or
 * AbortController per request (what `dispatcher.request()` costs); the
 * phase timestamps still come from timing.ts's diagnostics channels, which
 * undici publishes before it calls a handler, so they are unchanged.
 */
import type { Dispatcher } from "undici";
import type { ExchangeState } from "./result.js";

/** Why an exchange ended: undefined for a complete (or capped) response, else the error. */
export type ExchangeDone = (err: unknown) => void;

export class ExchangeHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private abortReason: Error | undefined;
  private readonly chunks: Buffer[] | undefined;
  private finished = false;

  /**
   * @param keepBody keep the body text (an assertion reads it)
   * @param maxBodyBytes beyond this many body bytes the exchange stops (`state.tooLarge`)
   */
  constructor(
    private readonly state: ExchangeState,
    keepBody: boolean,
    private readonly maxBodyBytes: number,
    private readonly done: ExchangeDone,
  ) {
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
    this.state.status = statusCode;
    this.state.headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const state = this.state;
    if (state.tooLarge) return;
    state.bytes += chunk.length;
    if (state.bytes > this.maxBodyBytes) {
      state.tooLarge = true;
      this.keepText();
      this.finish(undefined);
      // Stopping mid-body leaves the socket unusable: aborting destroys it.
      controller.abort(new Error("response body exceeded the cap"));
      return;
    }
    this.chunks?.push(chunk);
  }

  onResponseEnd(): void {
    this.keepText();
    this.state.bodyDone = true;
    this.finish(undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    this.finish(err);
  }

  private keepText(): void {
    if (this.chunks) this.state.body = Buffer.concat(this.chunks).toString("utf8");
  }

  private finish(err: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.done(err);
  }
}
