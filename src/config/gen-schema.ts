/**
 * Everything generated from the zod schema: the JSON Schema files editors use
 * through `$schema`, and the configuration reference in docs/. Pure functions;
 * `scripts/gen-schema.mjs` writes the files and a unit test keeps them in sync.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { STALL_RULE_DEFAULTS, stallRuleText } from "../stall-rule-text.js";
import { ConfigSchema, SuiteSchema } from "./schema.js";

/** A JSON Schema node, as much of it as the generators read. */
export interface JsonSchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  items?: JsonSchemaNode;
  additionalProperties?: JsonSchemaNode | boolean;
  propertyNames?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
  [key: string]: unknown;
}

function toJsonSchema(schema: z.ZodType, title: string, description: string): JsonSchemaNode {
  // io: "input" — fields with defaults are optional in the file.
  const { $schema, ...rest } = z.toJSONSchema(schema, {
    io: "input",
    unrepresentable: "any",
  }) as JsonSchemaNode;
  return { $schema, title, description, ...rest };
}

/** JSON Schema of a config file (schema/config.schema.json). */
export function configJsonSchema(): JsonSchemaNode {
  return toJsonSchema(
    ConfigSchema,
    "stallwatch configuration",
    "APIs, routes and endpoints to probe, and how. Generated from src/config/schema.ts; see docs/configuration.md.",
  );
}

/** JSON Schema of a probe suite file (schema/suite.schema.json). */
export function suiteJsonSchema(): JsonSchemaNode {
  return toJsonSchema(
    SuiteSchema,
    "stallwatch probe suite",
    "Endpoints to probe and what their responses must look like. Generated from src/config/schema.ts.",
  );
}

// ---- the reference document ----

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
const code = (s: string) => (s.includes("`") ? `\`\` ${s} \`\`` : `\`${s}\``);

function typeOf(n: JsonSchemaNode): string {
  if (n.enum) return n.enum.map((v) => code(typeof v === "string" ? v : JSON.stringify(v))).join(", ");
  if (n.const !== undefined) return code(JSON.stringify(n.const));
  if (n.anyOf) return n.anyOf.map(typeOf).join(" or ");
  if (n.type === "array") return `array of ${n.items ? typeOf(n.items) : "any"}`;
  if (n.type === "object") {
    if (n.properties && !n.additionalProperties) {
      const keys = Object.keys(n.properties);
      return keys.length <= 3 ? `{${keys.join(", ")}}` : "object";
    }
    const v = typeof n.additionalProperties === "object" ? typeOf(n.additionalProperties) : "any";
    const k = n.propertyNames?.enum ? n.propertyNames.enum.join("/") : "name";
    return `map of ${k} → ${v}`;
  }
  if (Array.isArray(n.type)) return n.type.join(" or ");
  return n.type ?? "any";
}

function constraints(n: JsonSchemaNode): string {
  const out: string[] = [];
  const lo = n.minimum ?? n.exclusiveMinimum;
  const hi = n.maximum ?? n.exclusiveMaximum;
  if (lo !== undefined || hi !== undefined) {
    const left = lo === undefined ? "" : `${n.exclusiveMinimum !== undefined ? ">" : "≥"} ${lo}`;
    const right = hi === undefined ? "" : `${n.exclusiveMaximum !== undefined ? "<" : "≤"} ${hi}`;
    out.push([left, right].filter(Boolean).join(", "));
  }
  if (n.minLength === 1) out.push("non-empty");
  else if (n.minLength !== undefined && n.minLength > 1) out.push(`≥ ${n.minLength} chars`);
  if (n.maxLength !== undefined) out.push(`≤ ${n.maxLength} chars`);
  if (n.minItems !== undefined && n.minItems > 0)
    out.push(`≥ ${n.minItems} item${n.minItems === 1 ? "" : "s"}`);
  if (n.pattern !== undefined) out.push(`matches ${code(n.pattern)}`);
  if (n.items && n.type === "array") {
    const inner = constraints(n.items);
    if (inner) out.push(`each: ${inner}`);
  }
  return out.join("; ");
}

function isSection(n: JsonSchemaNode): boolean {
  return n.type === "object" && n.properties !== undefined && !n.additionalProperties;
}

function defaultOf(n: JsonSchemaNode, required: boolean): string {
  if (n.default === undefined) return required ? "**required**" : "";
  if (typeof n.default === "object" && n.default !== null && !Array.isArray(n.default)) {
    return Object.keys(n.default).length ? "(see below)" : "`{}`";
  }
  return code(JSON.stringify(n.default));
}

interface Section {
  title: string;
  description: string | undefined;
  rows: string[];
}

function collectSections(
  node: JsonSchemaNode,
  path: string,
  sections: Section[],
  description?: string,
): void {
  const rows: string[] = [];
  const section: Section = { title: path || "Top level", description, rows };
  sections.push(section);
  const required = new Set(node.required ?? []);
  const nested: [JsonSchemaNode, string, string | undefined][] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const full = path ? `${path}.${key}` : key;
    const item = child.type === "array" && child.items && isSection(child.items) ? child.items : undefined;
    if (isSection(child)) nested.push([child, full, child.description]);
    if (item) nested.push([item, `${full}[]`, child.description]);
    const desc = [child.description, constraints(child)].filter(Boolean).join(" ");
    const type = item ? "array (see below)" : isSection(child) ? "object (see below)" : typeOf(child);
    rows.push(
      `| ${code(full)} | ${cell(type)} | ${cell(defaultOf(child, required.has(key)))} | ${cell(desc)} |`,
    );
  }
  for (const [child, full, desc] of nested) collectSections(child, full, sections, desc);
}

function renderSections(sections: Section[], level: string): string {
  return sections
    .map((s) => {
      const head = `${level} ${s.title === "Top level" ? s.title : code(s.title)}\n\n`;
      const desc = s.description ? `${s.description}\n\n` : "";
      const table = ["| Option | Type | Default | Description |", "|---|---|---|---|", ...s.rows].join("\n");
      return head + desc + table + "\n";
    })
    .join("\n");
}

const INTRO = `# Configuration reference

<!-- Generated from src/config/schema.ts by scripts/gen-schema.mjs. Do not edit by hand. -->

A config file is JSON. Start from [config.example.json](../config.example.json); with
\`"$schema": "./schema/config.schema.json"\` editors complete and check it as you type.
\`stallwatch validate FILE\` (and every command given \`--config FILE\`) reports every problem at
once, each with its JSON path, and exits with code 2.

- **Routes.** Every endpoint of an API is probed through each of its routes. A route's base URL
  may carry a path, which is kept as a prefix: \`https://abc123.execute-api.us-west-2.amazonaws.com/test\`
  + \`/foo/bar\` → \`…/test/foo/bar\`.
- **Suites.** \`apis[].suites\` lists probe suite files (relative to the config file), in the
  format described at the end; \`apis[].endpoints\` inlines more. Endpoint names default to the
  path and must be unique within an API.
- **Headers** merge as API, then route, then endpoint (later wins; names are case-insensitive).
  A value is a string, or \`{"env": "NAME"}\` to read it from the environment: such values, and
  those of \`authorization\`, \`x-api-key\`, \`cookie\` and \`proxy-authorization\`, are replaced by
  \`[REDACTED]\` in every output and log. A missing variable is an error unless \`"optional": true\`.
- **\`\${name}\`** in endpoint paths, header values and expectations is replaced by \`apis[].vars.name\`;
  an unknown name is an error.

A route that reaches the NLB directly, bypassing API Gateway, shows whether stalls live behind
it. API Gateway sends the integration's host, so send the same \`Host\` (this route is not in the
example because the NLB of a private integration is not reachable from outside its VPC):

\`\`\`json
{
  "name": "nlb-direct",
  "baseUrl": "http://flaskapp-nlb-0123456789abcdef.elb.us-west-2.amazonaws.com",
  "kind": "direct",
  "headers": { "Host": "\${backendHost}" }
}
\`\`\`
`;

/** The Markdown configuration reference (docs/configuration.md). */
export function configurationDoc(): string {
  const config: Section[] = [];
  collectSections(configJsonSchema(), "", config);
  const suite: Section[] = [];
  collectSections(suiteJsonSchema(), "", suite);
  return `${INTRO}
## Config file

${renderSections(config, "###")}
## Probe suite files (\`probes/*.json\`)

Validated by \`schema/suite.schema.json\`; \`endpoints[]\` has the same fields as \`apis[].endpoints[]\` above.

${renderSections(suite.slice(0, 1), "###")}`;
}

const STALL_RULE_BLOCK =
  /(<!-- generated: stall rule \(src\/stall-rule-text\.ts\) -->\n)[\s\S]*?(\n<!-- \/generated -->)/;

/** README.md with its stall-rule block rewritten from src/stall-rule-text.ts (the one description of the rule). */
export function readmeWithStallRule(readme: string): string {
  if (!STALL_RULE_BLOCK.test(readme)) throw new Error("README.md lost its generated stall rule block");
  const text = `By default a request is a stall when it is ${stallRuleText(STALL_RULE_DEFAULTS)}.`;
  return readme.replace(STALL_RULE_BLOCK, (_, start: string, end: string) => `${start}${text}${end}`);
}

/** Every generated file: path relative to the repository root → content. */
export function generatedFiles(
  root = fileURLToPath(new URL("../..", import.meta.url)),
): Record<string, string> {
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  return {
    "schema/config.schema.json": json(configJsonSchema()),
    "schema/suite.schema.json": json(suiteJsonSchema()),
    "docs/configuration.md": configurationDoc(),
    "README.md": readmeWithStallRule(readFileSync(join(root, "README.md"), "utf8")),
  };
}
