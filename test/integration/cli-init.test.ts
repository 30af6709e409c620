/**
 * `stallwatch init` and `init --from-openapi`: the flaskapp's API Gateway
 * export (paths /, /header, /foo/{proxy+}, VPC_LINK integrations), as
 * Swagger 2.0 and OpenAPI 3, in JSON and YAML, becomes a config that
 * validates and, pointed at the lab, probes it with every expectation met.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stringify } from "yaml";
import { startDemoLab } from "../../src/cli/lab-demo.js";
import { configFromOpenApi, samplePath } from "../../src/config/init.js";
import { parseConfig } from "../../src/config/load.js";
import { ConfigError } from "../../src/errors.js";
import type { RemoteLab } from "../../src/lab/remote.js";
import type { Report } from "../../src/model.js";
import { runCli } from "../helpers/cli.js";

const FIXTURES = join(import.meta.dirname, "../fixtures/openapi");
const swagger = () => JSON.parse(readFileSync(join(FIXTURES, "flaskapp-test-swagger.json"), "utf8"));

let tmp: string;
let lab: RemoteLab;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "sw-init-"));
  lab = await startDemoLab("healthy");
});
afterAll(async () => {
  await lab?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("configFromOpenApi", () => {
  test("the flaskapp export: execute-api route with its stage, one endpoint per path, backendHost, x-api-key", () => {
    const cfg = configFromOpenApi(swagger(), { customDomain: "https://flaskapp-api.example.com" });
    const api = cfg.apis[0];
    expect(api?.name).toBe("flaskapp");
    expect(api?.routes).toEqual([
      {
        name: "execute-api",
        baseUrl: "https://abc123.execute-api.us-west-2.amazonaws.com/test",
        kind: "execute-api",
      },
      { name: "custom-domain", baseUrl: "https://flaskapp-api.example.com", kind: "custom-domain" },
    ]);
    expect(api?.endpoints?.map((e) => [e.name, e.path])).toEqual([
      ["root", "/"],
      ["header", "/header"],
      ["foo-proxy", "/foo/bar"],
    ]);
    expect(api?.endpoints?.[1]?.expect).toEqual({ status: 200, json: { header: "${backendHost}" } });
    expect(api?.vars).toEqual({ backendHost: "flaskapp-api.example.com" });
    expect(api?.headers).toEqual({ "x-api-key": { env: "FLASKAPP_API_KEY", optional: true } });
    const loaded = parseConfig(cfg, { env: { FLASKAPP_API_KEY: "k-123456" } });
    expect(loaded.targets.map((t) => t.url)).toContain(
      "https://abc123.execute-api.us-west-2.amazonaws.com/test/foo/bar",
    );
    expect(loaded.targets.every((t) => t.headers["x-api-key"] === "k-123456")).toBe(true);
  });

  test("OpenAPI 3 servers with a basePath variable give the same route; a Host mapping wins over the URI host", () => {
    const doc = swagger();
    doc.paths["/header"].get["x-amazon-apigateway-integration"].requestParameters = {
      "integration.request.header.Host": "'internal.flaskapp.local'",
    };
    doc.paths["/"].get["x-amazon-apigateway-integration"].uri = "http://internal.flaskapp.local/";
    expect(configFromOpenApi(doc).apis[0]?.vars).toEqual({ backendHost: "internal.flaskapp.local" });
    expect(samplePath("/users/{id}/orders/{orderId}")).toBe("/users/sample-id/orders/sample-orderId");
  });

  test("an export without what is needed: every problem with its path", () => {
    const doc = swagger();
    delete doc.host;
    doc.paths = { "/x": { post: {} } };
    try {
      configFromOpenApi(doc, {}, "broken.json");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).problems.map((p) => p.path)).toEqual(["host", "paths"]);
      expect((e as ConfigError).exitCode).toBe(2);
    }
    expect(() => configFromOpenApi({ openapi: "3.0.1", paths: {} })).toThrow(/servers\[0\]\.url/);
    expect(() => configFromOpenApi({ hello: 1 })).toThrow(/Swagger 2\.0 or OpenAPI 3/);
  });
});

describe("stallwatch init (CLI)", () => {
  /** The export pointed at the lab: its execute-api front and stage, http. */
  function labExports(): { file: string; label: string }[] {
    const url = new URL(lab.routes["execute-api"] as string);
    const doc = swagger();
    doc.host = url.host;
    doc.basePath = url.pathname;
    doc.schemes = ["http"];
    const oas3 = readFileSync(join(FIXTURES, "flaskapp-test-oas30.yaml"), "utf8").replace(
      "https://abc123.execute-api.us-west-2.amazonaws.com/{basePath}",
      `http://${url.host}/{basePath}`,
    );
    const out = [
      { label: "swagger 2.0 json", text: JSON.stringify(doc, null, 2), ext: "json" },
      { label: "swagger 2.0 yaml", text: stringify(doc), ext: "yaml" },
      { label: "openapi 3 yaml", text: oas3, ext: "yml" },
    ];
    return out.map((o, i) => {
      const file = join(tmp, `export-${i}.${o.ext}`);
      writeFileSync(file, o.text);
      return { file, label: o.label };
    });
  }

  test("--from-openapi -o FILE: the config validates and probes the lab, /header check included", async () => {
    for (const [i, { file, label }] of labExports().entries()) {
      const cfg = join(tmp, `from-openapi-${i}.json`);
      const init = await runCli([
        "init",
        "--from-openapi",
        file,
        "--custom-domain",
        lab.routes["custom-domain"] as string,
        "-o",
        cfg,
      ]);
      expect(init.code, `${label}: ${init.stderr}`).toBe(0);
      const validate = await runCli(["validate", cfg]);
      expect(validate.stdout).toContain("valid (1 API, 2 routes, 6 probe targets)");
      const r = await runCli(["report", "-c", cfg, "-n", "2", "--connection", "reuse", "--json"], {
        env: { ...process.env, FLASKAPP_API_KEY: "lab-key-0001" },
        timeoutMs: 60_000,
      });
      expect(r.code, `${label}: ${r.stderr}`).toBe(0);
      const rep = JSON.parse(r.stdout) as Report;
      expect(rep.totals).toMatchObject({ requests: 12, ok: 12, failed: 0 });
      expect(new Set(rep.series.map((s) => s.endpoint))).toEqual(new Set(["root", "header", "foo-proxy"]));
    }
  }, 180_000);

  test("the /header check fails when the export names another backend host (it is a real check)", async () => {
    const url = new URL(lab.routes["execute-api"] as string);
    const doc = swagger();
    Object.assign(doc, { host: url.host, basePath: url.pathname, schemes: ["http"] });
    doc.paths["/header"].get["x-amazon-apigateway-integration"].uri = "http://not-the-lab.example.com/header";
    doc.paths["/"].get["x-amazon-apigateway-integration"].uri = "http://not-the-lab.example.com/";
    const file = join(tmp, "wrong-host.json");
    writeFileSync(file, JSON.stringify(doc));
    const cfg = join(tmp, "wrong-host.config.json");
    expect((await runCli(["init", "--from-openapi", file, "-o", cfg])).code).toBe(0);
    const r = await runCli(["report", "-c", cfg, "-n", "1", "--connection", "reuse", "--json"]);
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.failures.map((f) => [f.endpoint, f.code])).toEqual([["header", "assertion"]]);
  }, 60_000);

  test("init without an export: a commented config that validates; -o never overwrites; bad input exits 2", async () => {
    const out = await runCli(["init"]);
    expect(out.code).toBe(0);
    const cfg = JSON.parse(out.stdout);
    expect(cfg.$comment.join(" ")).toContain("Replace the placeholder baseUrl");
    expect(() => parseConfig(cfg, { env: {} })).not.toThrow();
    const file = join(tmp, "starter.json");
    const first = await runCli(["init", "--url", `${lab.routes["execute-api"]}`, "-o", file]);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(`wrote ${file}`);
    const again = await runCli(["init", "-o", file]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("the file exists");
    const probe = await runCli(["report", "-c", file, "-n", "1", "--json"]);
    expect(probe.code).toBe(0);
    const badYaml = join(tmp, "bad.yaml");
    writeFileSync(badYaml, "openapi: 3.0.1\npaths:\n  /x: [unclosed\n");
    const bad = await runCli(["init", "--from-openapi", badYaml]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid YAML at line \d+/);
    const missing = await runCli(["init", "--from-openapi", join(tmp, "nope.json")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("cannot read the file: ENOENT");
  }, 60_000);
});
