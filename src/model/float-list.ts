/** Numbers appended to a Float64Array that doubles when full: 8 bytes a value, no object per value. */
export class Float64List {
  values: Float64Array;
  length = 0;

  /** `capacity`: the number of values expected, so the array never grows. */
  constructor(capacity = 16) {
    this.values = new Float64Array(Math.max(1, capacity));
  }

  push(v: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = v;
  }
}
