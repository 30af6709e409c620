/**
 * The lab's ELBv2 endpoint, by job: the state it answers from
 * (elbv2-state.ts), the AWS Query protocol handler (elbv2-query.ts) and the
 * lab topology seeding and health datums (elbv2-topology.ts).
 */
export * from "./elbv2-query.js";
export * from "./elbv2-state.js";
export * from "./elbv2-topology.js";
