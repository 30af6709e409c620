/**
 * The AWS SDK's NodeVersionSupportWarning is ten lines on stderr the first
 * time a client is built on Node < 22. We replace it with one line of our
 * own: the Node version, what stops (SDK updates after the first week of
 * January 2027), what to do. Once per process; nothing on Node ≥ 22; nothing
 * when the user already silenced the SDK's warning
 * (AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true).
 */

/** The SDK's own switch, read when a client is constructed. */
export const SDK_WARNING_ENV = "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED";

/** The first Node major the AWS SDK keeps supporting after the first week of January 2027. */
export const SDK_MIN_NODE_MAJOR = 22;

/** Our line for a Node version (`v20.20.0`), or undefined when that version needs none. */
export function nodeSupportLine(version: string): string | undefined {
  const major = Number.parseInt(version.replace(/^v/, ""), 10);
  if (!Number.isFinite(major) || major >= SDK_MIN_NODE_MAJOR) return undefined;
  return (
    `stallwatch: Node ${version} is past its end of life: AWS SDK releases after the first week of January 2027 ` +
    `need Node >= ${SDK_MIN_NODE_MAJOR} (no more fixes for the CloudWatch, X-Ray and ELBv2 calls); upgrade to Node ${SDK_MIN_NODE_MAJOR} or later.`
  );
}

/**
 * Call before constructing an SDK client: prints our line and silences the
 * SDK's. The SDK's own switch is the state: once it is "true" (set by the
 * user, or by us after printing) nothing more is printed in this process,
 * nor in the worker threads and children that inherit its environment.
 */
export function noteNodeSupport(
  deps: { version: string; env: NodeJS.ProcessEnv; write: (line: string) => void } = {
    version: process.version,
    env: process.env,
    write: (line) => process.stderr.write(line),
  },
): void {
  if (deps.env[SDK_WARNING_ENV] === "true") return;
  const line = nodeSupportLine(deps.version);
  if (line === undefined) return;
  deps.env[SDK_WARNING_ENV] = "true";
  deps.write(`${line}\n`);
}
