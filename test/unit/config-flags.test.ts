import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { applyProbeOverrides, configFromFlags, routeNameFromHost } from "../../src/config/flags.js";
import { loadConfig } from "../../src/config/load.js";
import { UsageError } from "../../src/errors.js";

const example = join(resolve(import.meta.dirname, "../.."), "config.example.json");

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect((e as UsageError).exitCode).toBe(2);
    return (e as UsageError).message;
  }
  throw new Error("expected a UsageError");
}

describe("configFromFlags", () => {
  it("builds route × path targets from --route and --path", () => {
    const { targets, config } = configFromFlags({
      routes: ["a=http://127.0.0.1:8080", "stage=http://127.0.0.1:8081/test/"],
      paths: ["/", "/foo"],
      env: {},
    });
    expect(targets.map((t) => `${t.api} ${t.route} ${t.endpoint} ${t.url}`)).toEqual([
      "cli a / http://127.0.0.1:8080/",
      "cli a /foo http://127.0.0.1:8080/foo",
      "cli stage / http://127.0.0.1:8081/test/",
      "cli stage /foo http://127.0.0.1:8081/test/foo",
    ]);
    expect(config.probe.count).toBe(20);
  });

  it("probes / when no --path is given, and names a bare --route URL after its host", () => {
    const { targets } = configFromFlags({ routes: ["http://127.0.0.1:9000/base"], env: {} });
    expect(targets.map((t) => `${t.route} ${t.url}`)).toEqual(["127.0.0.1 http://127.0.0.1:9000/base/"]);
  });

  it("turns --url into a route named after the host and one endpoint with the URL's path and query", () => {
    const { targets } = configFromFlags({ url: "http://localhost:3000/api/items?limit=5", env: {} });
    expect(targets).toHaveLength(1);
    expect(targets[0]).toMatchObject({
      route: "localhost",
      endpoint: "/api/items?limit=5",
      url: "http://localhost:3000/api/items?limit=5",
    });
    expect(configFromFlags({ url: "http://[::1]:8080/", env: {} }).targets[0]?.route).toBe("ipv6-1");
  });

  it("applies probe flags, accepting numbers as strings", () => {
    const { config, targets } = configFromFlags({
      routes: ["a=http://127.0.0.1:8080"],
      count: "100",
      rate: "50",
      connection: "reuse",
      stallMs: "500",
      timeoutMs: "2000",
      resolve: ["api.example.com:443:127.0.0.1"],
      env: {},
    });
    expect(config.probe).toMatchObject({
      count: 100,
      ratePerS: 50,
      connection: "reuse",
      stallMs: 500,
      timeoutMs: 2000,
      resolve: ["api.example.com:443:127.0.0.1"],
    });
    expect(targets[0]?.timeoutMs).toBe(2000);
  });

  it("names the flag in every problem, all at once", () => {
    const msg = usageMessage(() =>
      configFromFlags({
        routes: ["a=ftp://x", "bad name=http://127.0.0.1:1"],
        paths: ["foo"],
        count: "lots",
        connection: "sometimes",
        env: {},
      }),
    );
    expect(msg).toBe(
      [
        "invalid option values:",
        '  --count: expected a number, received "lots"',
        '  --connection: expected one of: fresh, reuse, both, received "sometimes"',
        '  --route a=ftp://x: expected an absolute http:// or https:// URL, received "ftp://x"',
        "  --route bad name=http://127.0.0.1:1: expected a name of 1-64 letters, digits, '.', '_' or '-', received \"bad name\"",
        "  --path foo: expected a path starting with '/', received \"foo\"",
      ].join("\n"),
    );
  });

  it("rejects missing or conflicting target flags", () => {
    expect(usageMessage(() => configFromFlags({ env: {} }))).toContain(
      "--route: expected at least one --route",
    );
    expect(
      usageMessage(() => configFromFlags({ url: "http://a.example/", routes: ["b=http://b.example"] })),
    ).toContain("--url: expected either --url or --route/--path, not both");
    expect(usageMessage(() => configFromFlags({ url: "not a url" }))).toContain(
      '--url: expected a URL such as http://host:port/path, received "not a url"',
    );
    expect(
      usageMessage(() =>
        configFromFlags({ routes: ["a=http://127.0.0.1:1"], rate: 5, concurrency: 2, env: {} }),
      ),
    ).toContain("--concurrency, --rate: expected one of them, not both");
  });

  it("refuses credentials in --url and --route URLs without printing the password", () => {
    for (const flags of [
      { url: "http://user:s3cr3t-pw@127.0.0.1:9/x", env: {} },
      { routes: ["main=http://user:s3cr3t-pw@127.0.0.1:9"], env: {} },
      { routes: ["http://user:s3cr3t-pw@127.0.0.1:9"], env: {} },
    ]) {
      const msg = usageMessage(() => configFromFlags(flags));
      expect(msg).toContain("expected a URL without 'user:password@'");
      expect(msg).toContain('"authorization": {"env": "API_AUTH"}');
      expect(msg).not.toContain("s3cr3t-pw");
    }
  });
});

describe("applyProbeOverrides", () => {
  it("overrides the file's probe options and every target's deadline, keeping the rest", async () => {
    const loaded = await loadConfig(example, {});
    const out = applyProbeOverrides(loaded, {
      count: 5,
      timeoutMs: "1500",
      resolve: ["flaskapp-api.example.com:443:127.0.0.1"],
    });
    expect(out.config.probe).toEqual({
      ...loaded.config.probe,
      count: 5,
      timeoutMs: 1500,
      resolve: ["flaskapp-api.example.com:443:127.0.0.1"],
    });
    expect(out.targets.map((t) => t.timeoutMs)).toEqual(Array(8).fill(1500));
    expect(out.config.apis).toBe(loaded.config.apis);
    // The input is not modified.
    expect(loaded.config.probe.count).toBe(20);
    expect(loaded.targets[0]?.timeoutMs).toBe(15_000);
  });

  it("keeps targets as they are without --timeout-ms", async () => {
    const loaded = await loadConfig(example, {});
    expect(applyProbeOverrides(loaded, { connection: "fresh" }).targets).toBe(loaded.targets);
  });

  it("re-validates through the schema and names the flag", async () => {
    const loaded = await loadConfig(example, {});
    expect(
      usageMessage(() =>
        applyProbeOverrides(loaded, {
          count: 0,
          timeoutMs: 10_000_000,
          resolve: ["h:80:1.2.3.4", "h:80:nowhere"],
        }),
      ),
    ).toBe(
      [
        "invalid option values:",
        "  --count: expected a number at least 1, received 0",
        "  --timeout-ms: expected a number at most 600000, received 10000000",
        '  --resolve: expected IP addresses after host:port: (IPv4, or IPv6 in brackets or not), received "nowhere"',
      ].join("\n"),
    );
  });
});

describe("routeNameFromHost", () => {
  it("keeps valid names and repairs the rest", () => {
    expect(routeNameFromHost("api.example.com")).toBe("api.example.com");
    expect(routeNameFromHost("[2001:db8::1]")).toBe("2001-db8--1");
    expect(routeNameFromHost("::1")).toBe("ipv6-1");
    expect(routeNameFromHost("x".repeat(80))).toHaveLength(64);
  });
});
