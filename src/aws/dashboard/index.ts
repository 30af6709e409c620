/** `dashboard print|deploy`: the builder and the idempotent deployer. */
export type { DashboardBody, Widget } from "./body.js";
export {
  type BuiltDashboard,
  buildDashboard,
  type DashboardBuildInput,
  DEFAULT_LOG_GROUP,
  dashboardNameFor,
} from "./build.js";
export { type Change, type DeployResult, type FieldDiff, formatChanges, jsonDiff } from "./changes.js";
export { awsCall, type DeployOptions, deployDashboard, planDashboard } from "./deploy.js";
export { EXTERNAL_METRICS } from "./external-metrics.js";
export { dashboardMetricProblems, metricsNamed, type NamedMetric } from "./rows.js";
export { type DashboardSeries, type SeriesTarget, seriesOf } from "./series.js";
