/** The lab: a local simulated API Gateway stack with fault injection. */
export { describeLab, labConfig } from "./describe.js";
export type {
  HopTiming,
  LabConnectionRecord,
  LabEventMap,
  LabEvents,
  LabHealthTransition,
  LabHop,
  LabRequestRecord,
  LabRouteName,
} from "./events.js";
export { LAB_ROUTES } from "./events.js";
export { healthAt, LAB_AZS, type LabTarget } from "./health.js";
export { LAB_DEFAULT_BACKEND_HOST, LAB_REGION, type Lab, type LabOptions, startLab } from "./lab.js";
export type { NlbBalancing } from "./nlb.js";
export {
  BASE_TIMINGS,
  getScenario,
  isScenarioName,
  resolveTimings,
  SCENARIO_NAMES,
  SCENARIOS,
  type ScenarioDefinition,
  type ScenarioName,
  type ScenarioProbePlan,
  type ScenarioTimings,
  type TargetHealth,
  type TargetHealthState,
} from "./scenarios.js";
