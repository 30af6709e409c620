/**
 * What `dashboard` and `alarms` share: the action check, the region of the
 * widgets and clients, and the output streams (injectable for tests).
 */
import type { Config } from "../config/schema.js";
import { UsageError } from "../errors.js";

/** Flags of `dashboard` / `alarms` (src/cli/program.ts). */
export interface DeployCommandOptions {
  config: string;
  dryRun?: boolean;
}

/** Streams and environment of a command; default: the process's. */
export interface CommandIo {
  stdout?: { write(s: string): unknown };
  stderr?: { write(s: string): unknown };
  env?: NodeJS.ProcessEnv;
}

export function checkAction(command: string, action: string, opts: DeployCommandOptions): "print" | "deploy" {
  if (action !== "print" && action !== "deploy") {
    throw new UsageError(`${command}: unknown action '${action}' (expected print or deploy)`);
  }
  if (action === "print" && opts.dryRun) {
    throw new UsageError(`${command}: --dry-run goes with deploy (print never changes anything)`);
  }
  return action;
}

/** config.aws.region, else AWS_REGION / AWS_DEFAULT_REGION. */
export function regionFor(config: Pick<Config, "aws">, env: NodeJS.ProcessEnv): string {
  const region = config.aws.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new UsageError("no AWS region: set aws.region in the config, or AWS_REGION in the environment");
  }
  return region;
}
