/**
 * The writer name of this prober in a shared store, when `store.writer` is
 * not set: `$STALLWATCH_WRITER`; on ECS, the task's Availability Zone from
 * the task metadata endpoint (`$ECS_CONTAINER_METADATA_URI_V4/task`, so one
 * prober per AZ is one writer, the unit a prober-specific stall is about),
 * else `ecs-<task id>` from the metadata URI itself; elsewhere
 * `<host>-<pid>-<random>`.
 */
import { defaultWriter, ecsTaskId, sanitizeWriter } from "../record/s3/layout.js";

export async function resolveWriter(
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 1000,
): Promise<{ writer: string; from: "env" | "ecs-az" | "ecs-task" | "host" }> {
  if (env.STALLWATCH_WRITER) return { writer: sanitizeWriter(env.STALLWATCH_WRITER), from: "env" };
  const uri = env.ECS_CONTAINER_METADATA_URI_V4;
  if (uri) {
    try {
      const res = await fetch(`${uri.replace(/\/+$/, "")}/task`, { signal: AbortSignal.timeout(timeoutMs) });
      if (res.ok) {
        const task = (await res.json()) as { AvailabilityZone?: unknown };
        if (typeof task.AvailabilityZone === "string" && task.AvailabilityZone !== "") {
          return { writer: sanitizeWriter(task.AvailabilityZone), from: "ecs-az" };
        }
      }
    } catch {
      // fall through to the task id in the URI
    }
  }
  const task = ecsTaskId(env);
  if (task) return { writer: `ecs-${task}`, from: "ecs-task" };
  return { writer: defaultWriter({}), from: "host" };
}
