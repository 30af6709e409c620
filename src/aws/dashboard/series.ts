/**
 * The series (api × route × endpoint) a dashboard and the alarms cover: one
 * per distinct probe target of the loaded config, in config order, with the
 * keep-warm selection of config.keepWarm.
 */
import type { Config } from "../../config/schema.js";
import type { SeriesKey } from "../../model.js";
import { seriesId } from "../../model.js";

/** One api × route × endpoint the prober publishes metrics for. */
export interface DashboardSeries extends SeriesKey {
  /** True when keep-warm pings hit this series (config.keepWarm). */
  keepWarm: boolean;
}

/** The part of a probe target the builders need (LoadedConfig.targets fits). */
export interface SeriesTarget {
  api: string;
  route: string;
  endpoint: string;
  url: string;
}

function keepWarmSelects(config: Pick<Config, "keepWarm">, t: SeriesTarget): boolean {
  const kw = config.keepWarm;
  if (!kw.enabled) return false;
  if (kw.routes && !kw.routes.includes(t.route)) return false;
  if (!kw.endpoints) return true;
  let path = "";
  try {
    path = new URL(t.url).pathname;
  } catch {
    /* keep "" */
  }
  // Endpoints are named by name or by path; a path matches the end of the URL's path (after a stage prefix).
  return kw.endpoints.some((e) => e === t.endpoint || (e.startsWith("/") && path.endsWith(e)));
}

/** Distinct series of the targets, first-seen order. */
export function seriesOf(
  config: Pick<Config, "keepWarm">,
  targets: readonly SeriesTarget[],
): DashboardSeries[] {
  const out = new Map<string, DashboardSeries>();
  for (const t of targets) {
    const id = seriesId(t);
    const prev = out.get(id);
    const kw = keepWarmSelects(config, t);
    if (prev) prev.keepWarm ||= kw;
    else out.set(id, { api: t.api, route: t.route, endpoint: t.endpoint, keepWarm: kw });
  }
  return [...out.values()];
}
