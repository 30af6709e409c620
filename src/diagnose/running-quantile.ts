/**
 * The p-th quantile (nearest rank, as `quantile` in stalls.ts) of a growing
 * list of values, kept up to date in O(log n) per value: a max-heap holds the
 * ceil(p·n) smallest values and a min-heap the rest, so the quantile is the
 * top of the first. Values live in Float64Arrays (8 bytes each, no objects).
 *
 * Why: the live stall counter asks for a series' lower quartile after every
 * request; sorting the series each time made a 20,000-request report spend
 * 50 s of CPU in the sort (quadratic in the run's length).
 */
export class RunningQuantile {
  private lo = new Heap(true);
  private hi = new Heap(false);

  constructor(private readonly p: number) {
    if (!(p > 0 && p <= 1)) throw new RangeError(`quantile ${p} is not in (0, 1]`);
  }

  get count(): number {
    return this.lo.size + this.hi.size;
  }

  add(value: number): void {
    if (this.lo.size > 0 && value > this.lo.top()) this.hi.push(value);
    else this.lo.push(value);
    const want = Math.max(1, Math.ceil(this.p * this.count));
    while (this.lo.size > want) this.hi.push(this.lo.pop());
    while (this.lo.size < want && this.hi.size > 0) this.lo.push(this.hi.pop());
  }

  /** The quantile of the values added so far; NaN before the first. */
  value(): number {
    return this.lo.size === 0 ? Number.NaN : this.lo.top();
  }
}

/** A binary heap of numbers in a growing Float64Array; `max` orders largest first. */
class Heap {
  private a = new Float64Array(16);
  size = 0;

  constructor(private readonly max: boolean) {}

  private before(x: number, y: number): boolean {
    return this.max ? x > y : x < y;
  }

  top(): number {
    return this.a[0]!;
  }

  push(v: number): void {
    if (this.size === this.a.length) {
      const grown = new Float64Array(this.a.length * 2);
      grown.set(this.a);
      this.a = grown;
    }
    const a = this.a;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(v, a[parent]!)) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = v;
  }

  pop(): number {
    const a = this.a;
    const out = a[0]!;
    const last = a[--this.size]!;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.size) break;
      const r = l + 1;
      const child = r < this.size && this.before(a[r]!, a[l]!) ? r : l;
      if (!this.before(a[child]!, last)) break;
      a[i] = a[child]!;
      i = child;
    }
    if (this.size > 0) a[i] = last;
    return out;
  }
}
