/** Base error with a stable code. Every error stallwatch throws on purpose is one of these. */
export class StallwatchError extends Error {
  readonly code: string;
  /** Process exit code the CLI uses when this error reaches the top. */
  readonly exitCode: number;
  constructor(code: string, message: string, exitCode = 1, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** One config problem: where (JSON path such as `apis[0].routes[1].baseUrl`) and what was expected. */
export interface ConfigProblem {
  path: string;
  message: string;
}

/** All problems of a config file at once. Exit code 2. */
export class ConfigError extends StallwatchError {
  readonly problems: ConfigProblem[];
  readonly file: string | undefined;
  constructor(problems: ConfigProblem[], file?: string) {
    const where = file ? ` in ${file}` : "";
    const lines = problems.map((p) => `  ${p.path || "(root)"}: ${p.message}`).join("\n");
    super(
      "SW_CONFIG",
      `invalid configuration${where} (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${lines}`,
      2,
    );
    this.problems = problems;
    this.file = file;
  }
}

/** Bad command-line usage. Exit code 2. */
export class UsageError extends StallwatchError {
  constructor(message: string) {
    super("SW_USAGE", message, 2);
  }
}
