import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, parseConfig } from "../../src/config/load.js";
import { joinUrl } from "../../src/config/targets.js";
import { ConfigError } from "../../src/errors.js";

const root = resolve(import.meta.dirname, "../..");
const example = join(root, "config.example.json");
const valid = join(root, "test/fixtures/config-valid");

describe("config.example.json", () => {
  it("yields 8 targets: 2 routes × 4 endpoints, execute-api stage path kept", async () => {
    const { targets, config, file } = await loadConfig(example, {});
    expect(file).toBe(example);
    expect(config.apis[0]?.name).toBe("flaskapp");
    expect(targets.map((t) => `${t.route} ${t.endpoint} ${t.method} ${t.url}`)).toEqual([
      "custom-domain root GET https://flaskapp-api.example.com/",
      "custom-domain header GET https://flaskapp-api.example.com/header",
      "custom-domain foo-bar GET https://flaskapp-api.example.com/foo/bar",
      "custom-domain foo-baz GET https://flaskapp-api.example.com/foo/baz",
      "execute-api root GET https://abc123.execute-api.us-west-2.amazonaws.com/test/",
      "execute-api header GET https://abc123.execute-api.us-west-2.amazonaws.com/test/header",
      "execute-api foo-bar GET https://abc123.execute-api.us-west-2.amazonaws.com/test/foo/bar",
      "execute-api foo-baz GET https://abc123.execute-api.us-west-2.amazonaws.com/test/foo/baz",
    ]);
    expect(targets.every((t) => t.api === "flaskapp" && t.timeoutMs === 15_000)).toBe(true);
  });

  it("substitutes ${backendHost} in the /header expectation", async () => {
    const { targets } = await loadConfig(example, {});
    const header = targets.filter((t) => t.endpoint === "header");
    expect(header).toHaveLength(2);
    for (const t of header)
      expect(t.expect).toEqual({ status: 200, json: { header: "flaskapp-api.example.com" } });
    expect(targets.find((t) => t.endpoint === "root")?.expect?.json).toEqual({ status: "OK" });
  });

  it("sends the API key from the environment and redacts it", async () => {
    const key = "flask-key-0123456789";
    const { targets, redactor } = await loadConfig(example, { FLASKAPP_API_KEY: key });
    for (const t of targets) {
      expect(t.headers["x-api-key"]).toBe(key);
      expect(t.secretHeaders).toContain("x-api-key");
      expect(t.secretHeaders).toContain("authorization");
    }
    const logLine = `GET ${targets[0]?.url} x-api-key=${key} failed`;
    expect(redactor.redact(logLine)).toBe(`GET ${targets[0]?.url} x-api-key=[REDACTED] failed`);
    expect(redactor.redactHeaders(targets[0]!.headers)).toEqual({ "x-api-key": "[REDACTED]" });
  });

  it("leaves out the optional API key header when the variable is unset", async () => {
    const { targets } = await loadConfig(example, {});
    for (const t of targets) expect(t.headers).toEqual({});
  });

  it("fills defaults and points $schema at files that exist", async () => {
    const { config, suiteFiles } = await loadConfig(example, {});
    expect(config.probe.resolve).toEqual([]);
    expect(config.probe.maxBodyBytes).toBe(1024 * 1024);
    expect(config.cloudwatch.dimensions).toEqual({ Prober: "laptop", Region: "us-west-2" });
    expect(suiteFiles).toEqual([join(root, "probes/flaskapp.json")]);
    expect(existsSync(join(root, "schema/config.schema.json"))).toBe(true);
    expect(existsSync(join(dirname(suiteFiles[0]!), "../schema/suite.schema.json"))).toBe(true);
  });
});

describe("targets", () => {
  const env = { SW_TEST_ALPHA_TOKEN: "Bearer alpha-token-value", SW_TEST_SESSION: "session-cookie-value" };

  it("merges headers API < route < endpoint, case-insensitively, and substitutes per-API vars", async () => {
    const { targets } = await loadConfig(join(valid, "two-apis.json"), env);
    const byKey = new Map(targets.map((t) => [`${t.api}/${t.endpoint}`, t]));
    expect([...byKey.keys()]).toEqual([
      "alpha/whoami",
      "alpha//health",
      "alpha/search",
      "beta/whoami",
      "beta//health",
    ]);
    const aWho = byKey.get("alpha/whoami")!;
    expect(aWho.url).toBe("https://alpha.example.com/v1/whoami/a");
    expect(aWho.headers).toEqual({
      authorization: "Bearer alpha-token-value",
      accept: "application/json",
      "x-level": "api",
      "x-tenant": "a",
    });
    expect(aWho.expect).toEqual({ json: { tenant: "a" } });
    const bWho = byKey.get("beta/whoami")!;
    expect(bWho.url).toBe("http://127.0.0.1:8080/whoami/b");
    expect(bWho.headers).toEqual({
      "x-level": "route",
      "x-session": "session-cookie-value",
      host: "beta.example.com",
      "x-tenant": "b",
    });
    expect(bWho.secretHeaders).toEqual([
      "authorization",
      "cookie",
      "proxy-authorization",
      "x-api-key",
      "x-session",
    ]);
    const search = byKey.get("alpha/search")!;
    expect(search).toMatchObject({
      method: "POST",
      body: '{"q":1}',
      url: "https://alpha.example.com/v1/search?q=1",
    });
    expect(search.headers["x-level"]).toBe("endpoint");
  });

  it("takes timeoutMs from the endpoint, else from probe.timeoutMs", async () => {
    const { targets } = await loadConfig(join(valid, "two-apis.json"), env);
    expect(targets.map((t) => t.timeoutMs)).toEqual([5000, 2000, 5000, 5000, 2000]);
  });

  it("redacts env-sourced values, including the bare token of an Authorization scheme", async () => {
    const { redactor } = await loadConfig(join(valid, "two-apis.json"), env);
    expect(
      redactor.redact("auth=Bearer alpha-token-value; token alpha-token-value; s=session-cookie-value"),
    ).toBe("auth=[REDACTED]; token [REDACTED]; s=[REDACTED]");
    expect(redactor.isSecretHeader("X-Session")).toBe(true);
  });

  it("fails when a required env header is missing, naming the variable and the path", async () => {
    const err = await loadConfig(join(valid, "two-apis.json"), { SW_TEST_SESSION: "s" }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      {
        path: "apis[0].headers.Authorization",
        message:
          'environment variable SW_TEST_ALPHA_TOKEN is not set (set it, or mark the header "optional": true)',
      },
    ]);
  });

  it("joins base URLs and paths keeping the base's path prefix", () => {
    const cases: [string, string, string][] = [
      ["https://h.example.com", "/", "https://h.example.com/"],
      ["https://h.example.com/", "/a", "https://h.example.com/a"],
      [
        "https://abc.execute-api.us-west-2.amazonaws.com/test",
        "/foo/bar",
        "https://abc.execute-api.us-west-2.amazonaws.com/test/foo/bar",
      ],
      [
        "https://abc.execute-api.us-west-2.amazonaws.com/test/",
        "/foo/bar",
        "https://abc.execute-api.us-west-2.amazonaws.com/test/foo/bar",
      ],
      [
        "https://abc.execute-api.us-west-2.amazonaws.com/test//",
        "/",
        "https://abc.execute-api.us-west-2.amazonaws.com/test/",
      ],
      ["http://127.0.0.1:8080/base?k=1", "/p?q=2", "http://127.0.0.1:8080/base/p?k=1&q=2"],
      ["http://[::1]:8080", "/x y", "http://[::1]:8080/x%20y"],
      ["https://h.example.com/base#frag", "/p", "https://h.example.com/base/p"],
    ];
    for (const [base, path, url] of cases) expect(joinUrl(base, path), `${base} + ${path}`).toBe(url);
  });
});

describe("parseConfig", () => {
  it("fills every default for a minimal config", () => {
    const { config, targets, file } = parseConfig(
      {
        apis: [
          { name: "a", routes: [{ name: "r", baseUrl: "http://127.0.0.1:1" }], endpoints: [{ path: "/" }] },
        ],
      },
      { env: {} },
    );
    expect(file).toBeUndefined();
    expect(config.probe).toMatchObject({ count: 20, concurrency: 1, connection: "both", timeoutMs: 15_000 });
    expect(config.schedule.cron).toBe("0 * * * * *");
    expect(config.alarms.periodS).toBe(300);
    expect(targets).toEqual([
      {
        api: "a",
        route: "r",
        endpoint: "/",
        url: "http://127.0.0.1:1/",
        method: "GET",
        headers: {},
        secretHeaders: ["authorization", "cookie", "proxy-authorization", "x-api-key"],
        timeoutMs: 15_000,
      },
    ]);
  });

  it("reads suites through an injected reader, relative to baseDir", () => {
    const read: string[] = [];
    const loaded = parseConfig(
      { apis: [{ name: "a", routes: [{ name: "r", baseUrl: "http://127.0.0.1:1" }], suites: ["s.json"] }] },
      {
        baseDir: "/virtual",
        env: {},
        readFile: (p) => {
          read.push(p);
          return JSON.stringify({ name: "s", endpoints: [{ path: "/from-suite" }] });
        },
      },
    );
    expect(read).toEqual([resolve("/virtual/s.json")]);
    expect(loaded.targets.map((t) => t.url)).toEqual(["http://127.0.0.1:1/from-suite"]);
  });

  it("resolves suite paths against the config file's directory, not the cwd", async () => {
    const loaded = await loadConfig(join(valid, "two-apis.json"), {
      SW_TEST_ALPHA_TOKEN: "t0ken-value",
      SW_TEST_SESSION: "s",
    });
    expect(loaded.suiteFiles).toEqual([join(valid, "probes/shared.json")]);
  });

  it("a literal secret header in the file is redacted too", () => {
    const { redactor, targets } = parseConfig(
      {
        apis: [
          {
            name: "a",
            routes: [{ name: "r", baseUrl: "http://127.0.0.1:1" }],
            headers: { "X-Api-Key": "literal-key-1234" },
            endpoints: [{ path: "/" }],
          },
        ],
      },
      { env: {} },
    );
    expect(targets[0]?.headers).toEqual({ "x-api-key": "literal-key-1234" });
    expect(redactor.redact("sent literal-key-1234")).toBe("sent [REDACTED]");
  });
});
