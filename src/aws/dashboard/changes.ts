/**
 * What a deploy would do or did, shared by `dashboard deploy` and
 * `alarms deploy`: one {@link Change} per resource, with a field diff for
 * updates, and the text the CLI prints for them.
 */

/** One changed value, at a JSON path such as `widgets[3].properties.title` or `Threshold`. */
export interface FieldDiff {
  path: string;
  /** Absent when the field is new. */
  from?: unknown;
  /** Absent when the field is removed. */
  to?: unknown;
}

export type ChangeAction = "create" | "update" | "unchanged" | "delete";
export type ResourceKind = "dashboard" | "metric-alarm" | "composite-alarm";

export interface Change {
  action: ChangeAction;
  resource: ResourceKind;
  name: string;
  /** For updates: what differs (deployed → wanted). */
  diff?: FieldDiff[];
}

export interface DeployResult {
  dryRun: boolean;
  changes: Change[];
  /** Calls that changed something (0 on a dry run and on a run with nothing to do). */
  applied: number;
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Structural differences between two JSON values, deepest paths first found. */
export function jsonDiff(from: unknown, to: unknown, path = "", out: FieldDiff[] = []): FieldDiff[] {
  if (Array.isArray(from) && Array.isArray(to)) {
    const n = Math.max(from.length, to.length);
    for (let i = 0; i < n; i++) {
      const p = `${path}[${i}]`;
      if (i >= from.length) out.push({ path: p, to: to[i] });
      else if (i >= to.length) out.push({ path: p, from: from[i] });
      else jsonDiff(from[i], to[i], p, out);
    }
    return out;
  }
  if (isObj(from) && isObj(to)) {
    const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
    for (const k of keys) {
      const p = path ? `${path}.${k}` : k;
      if (!(k in to) || to[k] === undefined) {
        if (from[k] !== undefined) out.push({ path: p, from: from[k] });
      } else if (!(k in from) || from[k] === undefined) out.push({ path: p, to: to[k] });
      else jsonDiff(from[k], to[k], p, out);
    }
    return out;
  }
  if (JSON.stringify(from) !== JSON.stringify(to)) out.push({ path: path || "(root)", from, to });
  return out;
}

function short(v: unknown, max = 80): string {
  const s = JSON.stringify(v) ?? "undefined";
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Two long strings shown by what differs: common head and tail cut down to a little context. */
function stringChange(from: string, to: string, context = 16): [string, string] {
  let head = 0;
  while (head < from.length && head < to.length && from[head] === to[head]) head++;
  let tail = 0;
  while (
    tail < from.length - head &&
    tail < to.length - head &&
    from[from.length - 1 - tail] === to[to.length - 1 - tail]
  )
    tail++;
  const cut = (s: string): string => {
    const start = Math.max(0, head - context);
    const end = Math.min(s.length, s.length - tail + context);
    return `${start > 0 ? "…" : ""}${s.slice(start, end)}${end < s.length ? "…" : ""}`;
  };
  return [cut(from), cut(to)];
}

/** Human lines for a deploy result (what `dashboard deploy` / `alarms deploy` print). */
export function formatChanges(result: DeployResult, maxDiffLines = 20): string {
  const lines: string[] = [];
  for (const c of result.changes) {
    const verb = result.dryRun && c.action !== "unchanged" ? `would ${c.action}` : c.action;
    lines.push(`${c.resource} ${c.name}: ${verb}`);
    const diff = c.diff ?? [];
    for (const d of diff.slice(0, maxDiffLines)) {
      if (d.from === undefined) lines.push(`  + ${d.path}: ${short(d.to)}`);
      else if (d.to === undefined) lines.push(`  - ${d.path}: ${short(d.from)}`);
      else if (
        typeof d.from === "string" &&
        typeof d.to === "string" &&
        (d.from.length > 60 || d.to.length > 60)
      ) {
        const [a, b] = stringChange(d.from, d.to);
        const clip = (x: string): string => (x.length > 120 ? `${x.slice(0, 119)}…` : x);
        lines.push(`  ~ ${d.path}: «${clip(a)}» → «${clip(b)}»`);
      } else lines.push(`  ~ ${d.path}: ${short(d.from)} → ${short(d.to)}`);
    }
    if (diff.length > maxDiffLines) lines.push(`  … ${diff.length - maxDiffLines} more differences`);
  }
  const count = (a: ChangeAction): number => result.changes.filter((c) => c.action === a).length;
  const summary = `${count("create")} to create, ${count("update")} to update, ${count("delete")} to delete, ${count("unchanged")} unchanged`;
  const nothing = count("create") + count("update") + count("delete") === 0;
  lines.push(
    result.dryRun
      ? `dry run: ${summary}; nothing was changed`
      : nothing
        ? `no changes (${count("unchanged")} unchanged)`
        : `${summary}; ${result.applied} call${result.applied === 1 ? "" : "s"} made`,
  );
  return `${lines.join("\n")}\n`;
}
