/**
 * `stallwatch init [--url URL] [--custom-domain URL] [-o FILE]` and
 * `stallwatch init --from-openapi FILE`: a starting config, validated with the
 * same schema as any config before it is written (so it always validates).
 * JSON or YAML exports; `-o` never overwrites a file.
 */
import { readFile, writeFile } from "node:fs/promises";
import { configFromOpenApi, starterConfig } from "../config/init.js";
import { parseConfig } from "../config/load.js";
import { ConfigError, UsageError } from "../errors.js";

export interface InitFlags {
  fromOpenapi?: string;
  url?: string;
  customDomain?: string;
  apiKeyEnv?: string;
  name?: string;
  output?: string;
}

/** An export's text as a value: JSON, else YAML (API Gateway exports either). */
export async function parseExportText(text: string, file: string): Promise<unknown> {
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{")) {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new ConfigError([{ path: "", message: `invalid JSON: ${(e as Error).message}` }], file);
    }
  }
  const { parseDocument } = await import("yaml");
  const doc = parseDocument(text);
  if (doc.errors.length) {
    throw new ConfigError(
      doc.errors.map((e) => ({
        path: "",
        message: `invalid YAML at line ${e.linePos?.[0]?.line ?? "?"}, column ${e.linePos?.[0]?.col ?? "?"}: ${e.message.split("\n")[0]}`,
      })),
      file,
    );
  }
  return doc.toJS();
}

export async function initCommand(flags: InitFlags): Promise<void> {
  if (flags.fromOpenapi !== undefined && flags.url !== undefined)
    throw new UsageError("init: expected --from-openapi FILE or --url BASEURL, not both");
  const opts = {
    ...(flags.name !== undefined ? { name: flags.name } : {}),
    ...(flags.customDomain !== undefined ? { customDomain: flags.customDomain } : {}),
    ...(flags.apiKeyEnv !== undefined ? { apiKeyEnv: flags.apiKeyEnv } : {}),
  };
  let config: unknown;
  if (flags.fromOpenapi !== undefined) {
    const file = flags.fromOpenapi;
    const text = await readFile(file, "utf8").catch((e: { code?: string }) => {
      throw new ConfigError([{ path: "", message: `cannot read the file: ${e.code ?? e}` }], file);
    });
    config = configFromOpenApi(await parseExportText(text, file), opts, file);
  } else {
    config = starterConfig(flags.url, opts);
  }
  const text = `${JSON.stringify(config, null, 2)}\n`;
  // The same validation as `stallwatch validate`; an env without the API key is fine (the header is optional).
  parseConfig(config, { env: {}, ...(flags.output ? { file: flags.output } : {}) });
  if (flags.output === undefined) {
    process.stdout.write(text);
    return;
  }
  try {
    await writeFile(flags.output, text, { flag: "wx" });
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new UsageError(
      `-o ${flags.output}: ${code === "EEXIST" ? "the file exists (init never overwrites; remove it first)" : `cannot write the file (${code ?? e})`}`,
    );
  }
  process.stderr.write(
    `stallwatch: wrote ${flags.output}; check it with: stallwatch validate ${flags.output}\n`,
  );
}
