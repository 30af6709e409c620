/**
 * `${name}` substitution from an API's `vars` in endpoint paths, header values
 * and expectations. Unknown names are collected, never silently left in place.
 */

const VAR = /\$\{([^}]*)\}/g;

/** Result of substituting one string: the text and the names that had no value. */
export interface Substituted {
  text: string;
  unknown: string[];
}

/** Replaces every `${name}` in `text` with `vars[name]`; reports names not in `vars`. */
export function substitute(text: string, vars: Readonly<Record<string, string>>): Substituted {
  const unknown: string[] = [];
  const out = text.replace(VAR, (whole, name: string) => {
    if (Object.hasOwn(vars, name)) return vars[name]!;
    unknown.push(name);
    return whole;
  });
  return { text: out, unknown };
}

/**
 * Substitutes in every string inside a JSON-like value (objects, arrays),
 * calling `onUnknown` with the path of each string that names an unknown var.
 */
export function substituteDeep(
  value: unknown,
  vars: Readonly<Record<string, string>>,
  onUnknown: (path: (string | number)[], names: string[]) => void,
  path: (string | number)[] = [],
): unknown {
  if (typeof value === "string") {
    const r = substitute(value, vars);
    if (r.unknown.length) onUnknown(path, r.unknown);
    return r.text;
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteDeep(v, vars, onUnknown, [...path, i]));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteDeep(v, vars, onUnknown, [...path, k]);
    return out;
  }
  return value;
}

/** The message for unknown variable names, listing the defined ones. */
export function unknownVarsMessage(names: string[], vars: Readonly<Record<string, string>>): string {
  const list = names.map((n) => `\${${n}}`).join(", ");
  const defined = Object.keys(vars);
  const hint = defined.length ? `expected one of: ${defined.join(", ")}` : "the API defines no vars";
  return `unknown variable${names.length === 1 ? "" : "s"} ${list} (${hint})`;
}
