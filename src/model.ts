/**
 * The model layer: the shared vocabulary of stallwatch, at the bottom of the
 * layers (see CONTRIBUTING.md). Every other layer may import it; it imports
 * nothing else from src/. One import path for all of it:
 *
 *   model/record.ts   phases, failure classes, the request record, series keys
 *   model/stall.ts    the stall rule's knobs and a detected stall
 *   model/report.ts   the Report (JSON contract) and its parts: findings, verdict, stats
 *   model/evidence.ts outside evidence the diagnosis reads: X-Ray breakdowns, CloudWatch series
 *   model/target-health.ts  NLB target health and topology, as ELBv2 describes them
 */
export * from "./model/evidence.js";
export * from "./model/float-list.js";
export * from "./model/record.js";
export * from "./model/report.js";
export * from "./model/stall.js";
export * from "./model/target-health.js";
