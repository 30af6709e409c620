/**
 * Top-level error handling: every StallwatchError becomes its message on
 * stderr and its exit code; commander usage errors exit 2; anything else is
 * a bug, printed with its stack, exit 1.
 */
import { type Command, CommanderError } from "commander";
import { StallwatchError } from "../errors.js";

export async function runMain(program: Command, argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
    // Commands set process.exitCode; nothing here forces an exit, so pending output flushes.
  } catch (err) {
    process.exitCode = exitCodeFor(err);
    if (err instanceof CommanderError) return; // commander already printed help or the usage error
    const message =
      err instanceof StallwatchError
        ? err.message
        : err instanceof Error
          ? (err.stack ?? err.message)
          : String(err);
    process.stderr.write(`stallwatch: ${message}\n`);
  }
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    return err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.exitCode === 0
      ? 0
      : 2;
  }
  if (err instanceof StallwatchError) return err.exitCode;
  return 1;
}
