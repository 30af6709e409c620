/** `stallwatch validate FILE`: every problem of a config and its suites, exit 2; or a summary, exit 0. */
import { loadConfig } from "../config/load.js";

export async function validateCommand(file: string): Promise<void> {
  const loaded = await loadConfig(file);
  const apis = loaded.config.apis.length;
  const routes = loaded.config.apis.reduce((n, a) => n + a.routes.length, 0);
  process.stdout.write(
    `${file}: valid (${apis} API${apis === 1 ? "" : "s"}, ${routes} route${routes === 1 ? "" : "s"}, ${loaded.targets.length} probe targets` +
      `${loaded.suiteFiles.length ? `, suites: ${loaded.suiteFiles.length}` : ""})\n`,
  );
}
