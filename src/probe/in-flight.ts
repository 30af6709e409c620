import type { Clock } from "../clock.js";

/** What the list needs of a probe (ProbeRun, probe-run.ts): its links, its deadline, and how to expire it. */
export interface InFlightEntry<T extends InFlightEntry<T>> {
  prev: T | undefined;
  next: T | undefined;
  /** Monotonic ms (the clock's `now()`). */
  readonly deadlineAt: number;
  expire(): void;
}

/**
 * The probes in flight, and every one's hard deadline on one timer, armed for
 * the earliest of them: no Timeout object per request, and it fires no later
 * than a timer of the probe's own would. The probes form an intrusive
 * doubly-linked list (`prev`/`next` on the probe), not a Set: a hash table
 * left behind by a rehash still points at the probes it held, and from the
 * old generation that kept every young request graph alive through
 * scavenges (see timing.ts).
 */
export class InFlight<T extends InFlightEntry<T>> {
  private head: T | undefined;
  private tail: T | undefined;
  private size = 0;
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Number.POSITIVE_INFINITY;

  constructor(private readonly clock: Clock) {}

  add(run: T): void {
    run.prev = this.tail;
    run.next = undefined;
    if (this.tail) this.tail.next = run;
    else this.head = run;
    this.tail = run;
    this.size++;
    if (run.deadlineAt < this.armedAt) this.arm(run.deadlineAt);
    else if (this.size === 1) this.timer?.ref();
  }

  /**
   * The timer stays armed when the last probe leaves (re-arming one per
   * request cost more than the probe's own bookkeeping); it is unref'd so an
   * idle prober never holds the process open, and finds nothing due if it fires.
   */
  delete(run: T): void {
    if (run.prev === undefined && this.head !== run) return; // not in the list
    if (run.prev) run.prev.next = run.next;
    else this.head = run.next;
    if (run.next) run.next.prev = run.prev;
    else this.tail = run.prev;
    run.prev = undefined;
    run.next = undefined;
    this.size--;
    if (this.size === 0) this.timer?.unref();
  }

  /** The probes in flight now (a copy: settling one unlinks it). */
  all(): T[] {
    const out: T[] = [];
    for (let r = this.head; r; r = r.next) out.push(r);
    return out;
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedAt = at;
    // Whole milliseconds, rounded up: a timer never fires before the deadline it serves.
    this.timer = setTimeout(() => this.fire(), Math.max(1, Math.ceil(at - this.clock.now())));
  }

  private fire(): void {
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    let next = Number.POSITIVE_INFINITY;
    for (const r of this.all()) {
      if (r.deadlineAt <= now) r.expire();
      else if (r.deadlineAt < next) next = r.deadlineAt;
    }
    if (next < this.armedAt && this.size > 0) this.arm(next);
  }
}
