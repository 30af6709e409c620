/**
 * The generated files cannot drift from the zod schema: they must equal fresh
 * output. When this fails, run `node scripts/gen-schema.mjs` and commit.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { configJsonSchema, generatedFiles, type JsonSchemaNode } from "../../src/config/gen-schema.js";

const root = resolve(import.meta.dirname, "../..");

describe("generated schema files", () => {
  it.each(Object.entries(generatedFiles()))("%s is up to date", (rel, content) => {
    expect(readFileSync(join(root, rel), "utf8"), `${rel} is stale: run node scripts/gen-schema.mjs`).toBe(
      content,
    );
  });

  it("describes the input: fields with defaults are optional", () => {
    const s = configJsonSchema();
    expect(s.required).toEqual(["apis"]);
    const probe = s.properties?.probe as JsonSchemaNode;
    expect(probe.required ?? []).toEqual([]);
    expect(probe.properties?.count).toMatchObject({
      type: "integer",
      default: 20,
      minimum: 1,
      maximum: 1_000_000,
    });
    expect(probe.additionalProperties).toBe(false);
  });

  it("documents every option of the example config", () => {
    const doc = generatedFiles()["docs/configuration.md"]!;
    const example = JSON.parse(readFileSync(join(root, "config.example.json"), "utf8")) as Record<
      string,
      unknown
    >;
    const paths: string[] = [];
    const walk = (v: unknown, path: string) => {
      if (Array.isArray(v)) {
        if (!v.some((x) => x !== null && typeof x === "object")) paths.push(path);
        for (const x of v) if (x !== null && typeof x === "object") walk(x, `${path}[]`);
      } else if (v !== null && typeof v === "object" && !/(headers|vars|dimensions|json)$/.test(path)) {
        for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
      } else paths.push(path);
    };
    walk(example, "");
    expect(paths.length).toBeGreaterThan(40);
    for (const p of new Set(paths)) expect(doc, p).toContain(`| \`${p}\` |`);
  });
});
