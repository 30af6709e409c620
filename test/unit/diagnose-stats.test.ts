import { describe, expect, it } from "vitest";
import {
  binomialPmf,
  binomialUpperTail,
  bonferroni,
  fisherExact,
  logChoose,
  logGamma,
  roundP,
} from "../../src/diagnose/stats.js";

describe("logGamma", () => {
  it("matches known values", () => {
    expect(logGamma(1)).toBeCloseTo(0, 12);
    expect(logGamma(2)).toBeCloseTo(0, 12);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12); // 0.5723649429247001
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 10); // ln 9!
    expect(logGamma(101)).toBeCloseTo(363.73937555556347, 8); // ln 100!
    expect(logGamma(0.1)).toBeCloseTo(2.252712651734206, 10); // ln Γ(0.1)
    expect(Number.isNaN(logGamma(0))).toBe(true);
  });
  it("logChoose is exact for small n", () => {
    expect(Math.exp(logChoose(10, 3))).toBeCloseTo(120, 8);
    expect(Math.exp(logChoose(52, 5))).toBeCloseTo(2598960, 3);
    expect(logChoose(5, 6)).toBe(Number.NEGATIVE_INFINITY);
  });
});

describe("binomial", () => {
  it("pmf and upper tail match hand-computed values", () => {
    expect(binomialPmf(3, 10, 0.5)).toBeCloseTo(120 / 1024, 12);
    // P(X ≥ 8 | n=10, p=½) = (45 + 10 + 1) / 1024
    expect(binomialUpperTail(8, 10, 0.5)).toBeCloseTo(56 / 1024, 12);
    // P(X ≥ 5 | n=5, p=⅓) = 3^-5
    expect(binomialUpperTail(5, 5, 1 / 3)).toBeCloseTo(1 / 243, 12);
    // P(X ≥ 1 | n=20, p=0.1) = 1 − 0.9^20
    expect(binomialUpperTail(1, 20, 0.1)).toBeCloseTo(1 - 0.9 ** 20, 12);
    expect(binomialUpperTail(0, 20, 0.1)).toBe(1);
    expect(binomialUpperTail(21, 20, 0.1)).toBe(0);
  });
  it("stays accurate for tiny tails and large n", () => {
    // P(X ≥ 100 | n=100, p=⅓) = 3^-100
    const p = binomialUpperTail(100, 100, 1 / 3);
    expect(Math.log10(p)).toBeCloseTo(-100 * Math.log10(3), 6);
    // n=10000, p=0.5: P(X ≥ 5000) = ½ + ½·P(X = 5000) ≈ 0.503989
    expect(binomialUpperTail(5000, 10000, 0.5)).toBeCloseTo(0.5 + binomialPmf(5000, 10000, 0.5) / 2, 10);
    expect(binomialPmf(5000, 10000, 0.5)).toBeCloseTo(0.007978646, 8);
  });
});

describe("fisherExact", () => {
  it("lady tasting tea: [[3,1],[1,3]]", () => {
    const r = fisherExact({ a: 3, b: 1, c: 1, d: 3 });
    expect(r.greater).toBeCloseTo(17 / 70, 12); // 0.242857
    expect(r.twoSided).toBeCloseTo(34 / 70, 12); // 0.485714
    expect(r.oddsRatio).toBe(9);
  });
  it("dieting example: [[1,9],[11,3]] two-sided 0.002759 (R fisher.test)", () => {
    const r = fisherExact({ a: 1, b: 9, c: 11, d: 3 });
    expect(r.twoSided).toBeCloseTo(0.0027594, 6);
    expect(r.less).toBeCloseTo(0.0013797, 6);
    expect(r.greater).toBeCloseTo(0.9999663, 6);
  });
  it("degenerate tables", () => {
    expect(fisherExact({ a: 0, b: 10, c: 0, d: 10 }).greater).toBeCloseTo(1, 12);
    expect(fisherExact({ a: 5, b: 0, c: 0, d: 5 }).greater).toBeCloseTo(1 / 252, 12); // 1 / C(10,5)
    expect(Number.isNaN(fisherExact({ a: 0, b: 0, c: 0, d: 3 }).oddsRatio)).toBe(true);
  });
});

describe("helpers", () => {
  it("bonferroni caps at 1 and roundP keeps 3 digits", () => {
    expect(bonferroni(0.001, 54)).toBeCloseTo(0.054, 12);
    expect(bonferroni(0.2, 10)).toBe(1);
    expect(roundP(0.000123456)).toBe(0.000123);
    expect(roundP(0)).toBe(0);
  });
});
