/** Public surface of the diagnosis engine. */

export { DEFAULT_DETECTORS } from "./detectors/index.js";
export { DEFAULT_ALPHA, DEFAULT_RESOLVER_TIMEOUT_MS, diagnose, explainStall } from "./diagnose.js";
export {
  FINDING_IDS,
  FINDINGS,
  type FindingId,
  type FindingSpec,
  findingSpec,
  UNEXPLAINED,
} from "./registry.js";
export type {
  Candidate,
  Detector,
  DetectorInput,
  DetectorResult,
  DiagnoseContext,
  DiagnoseInput,
  Diagnosis,
  StallExplanation,
} from "./types.js";
