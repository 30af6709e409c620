/** `alarms print|deploy`: the builder and the idempotent deployer. */
export { type AlarmsBuildInput, type BuiltAlarms, buildAlarms, MAX_ALARM_RULE } from "./build.js";
export { canonicalCompositeAlarm, canonicalMetricAlarm } from "./canonical.js";
export { deployAlarms, planAlarms } from "./deploy.js";
export {
  alarmPrefix,
  compositeAlarmName,
  isOwned,
  ownershipMarker,
  SERIES_ALARM_KINDS,
  type SeriesAlarmKind,
  seriesAlarmNames,
} from "./names.js";
