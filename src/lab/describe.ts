/**
 * What `stallwatch lab` prints, and a config that probes the lab: the
 * original API's four endpoints on both routes, inlined.
 */
import type { ConfigInput } from "../config/schema.js";
import type { Lab } from "./lab.js";

/** The lines `stallwatch lab` prints: routes, scenario, targets. */
export function describeLab(lab: Lab): string {
  const lines = [
    `stallwatch lab: scenario '${lab.scenario}' (seed ${lab.seed})`,
    `  ${lab.description}`,
    "routes:",
    `  custom-domain  ${lab.routes["custom-domain"]}  (edge ${lab.pop} → API Gateway → NLB → targets)`,
    `  execute-api    ${lab.routes["execute-api"]}  (API Gateway, stage '${lab.stage}' → NLB → targets)`,
    ...(lab.resolve.length > 0 ? [`names (pinned, as curl --resolve): ${lab.resolve.join("  ")}`] : []),
    `backend host (Host sent by API Gateway): ${lab.backendHost}`,
    `NLB ${lab.nlb.address}:${lab.nlb.port} (${lab.nlb.balancing}, cross-zone ${lab.nlb.crossZone ? "on" : "off"}), targets:`,
    ...lab.targets.map(
      (t) =>
        `  ${t.id}  ${t.address}:${t.port}  ${t.availabilityZone}  ${t.health.state}${t.health.reason ? ` (${t.health.reason})` : ""}`,
    ),
    "endpoints: /  /header  /foo/bar  /foo/baz",
  ];
  return lines.join("\n");
}

/** A config (ConfigSchema input) that probes both lab routes with the original API's endpoints. */
export function labConfig(lab: Lab): ConfigInput {
  return {
    apis: [
      {
        name: "lab",
        routes: [
          { name: "custom-domain", kind: "custom-domain", baseUrl: lab.routes["custom-domain"] },
          { name: "execute-api", kind: "execute-api", baseUrl: lab.routes["execute-api"] },
        ],
        endpoints: [
          { path: "/", expect: { status: 200, json: { status: "OK" } } },
          { path: "/header", expect: { status: 200, json: { header: lab.backendHost } } },
          { path: "/foo/bar", expect: { status: 200, json: { foo: "bar" } } },
          { path: "/foo/baz", expect: { status: 200, json: { foo: "baz" } } },
        ],
        apiGateway: { apiName: "lab", stage: lab.stage, region: lab.region },
      },
    ],
    ...(lab.resolve.length > 0 ? { probe: { resolve: lab.resolve } } : {}),
  };
}
