/**
 * The lab's ELBv2 endpoint: AWS Query as the real service speaks it
 * (client-elastic-load-balancing-v2 3.1142: form-encoded POST to `/` with
 * `Action=<Op>&Version=2015-12-01`, lists as `Name.member.N`; XML answers
 * `<OpResponse><OpResult>…</OpResult><ResponseMetadata>` in the
 * 2015-12-01 namespace, lists as `<member>`; errors as
 * `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>`).
 *
 * Answers DescribeTargetHealth, DescribeTargetGroups, DescribeLoadBalancers,
 * DescribeLoadBalancerAttributes and DescribeTargetGroupAttributes from an
 * {@link Elbv2State} the lab (or a test) feeds.
 */
import { randomUUID } from "node:crypto";
import type { Elbv2State, LabTargetGroup } from "./elbv2-state.js";
import type { AwsLabError, AwsLabRequest, AwsLabResponse, AwsServiceHandler } from "./server.js";

export const ELBV2_XMLNS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";
const VERSION = "2015-12-01";

const esc = (s: string): string =>
  s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");

/** `<Name>value</Name>`, or nothing when value is undefined. */
const el = (name: string, value: string | number | boolean | undefined): string =>
  value === undefined ? "" : `<${name}>${esc(String(value))}</${name}>`;
const list = (name: string, items: readonly string[]): string =>
  `<${name}>${items.map((i) => `<member>${i}</member>`).join("")}</${name}>`;

class QueryError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** `Name.member.N` values of a form, in N order. */
function members(form: URLSearchParams, name: string): string[] {
  const out: Array<[number, string]> = [];
  const re = new RegExp(`^${name.replace(/\./g, "\\.")}\\.member\\.(\\d+)$`);
  for (const [k, v] of form) {
    const m = re.exec(k);
    if (m) out.push([Number(m[1]), v]);
  }
  return out.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

function required(form: URLSearchParams, name: string): string {
  const v = form.get(name);
  if (v === null || v === "")
    throw new QueryError(
      400,
      "ValidationError",
      `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`,
    );
  return v;
}

function describeTargetHealth(state: Elbv2State, form: URLSearchParams): string {
  const arn = required(form, "TargetGroupArn");
  const targets = state.targetsOf(arn);
  if (!targets || !state.targetGroup(arn))
    throw new QueryError(400, "TargetGroupNotFound", `Target groups '${arn}' not found`);
  const ids = [...form].filter(([k]) => /^Targets\.member\.\d+\.Id$/.test(k)).map(([, v]) => v);
  const wanted = ids.length ? new Set(ids) : undefined;
  const tg = state.targetGroup(arn);
  // A deregistered target (`unused`) is listed only when asked for by id, as ELBv2 does.
  const items = targets
    .filter((t) => (wanted ? wanted.has(t.id) : t.state !== "unused"))
    .map(
      (t) =>
        `<Target>${el("Id", t.id)}${el("Port", t.port)}${el("AvailabilityZone", t.az)}</Target>` +
        el(
          "HealthCheckPort",
          tg?.healthCheck?.port === "traffic-port" || tg?.healthCheck?.port === undefined
            ? String(t.port)
            : tg.healthCheck.port,
        ) +
        `<TargetHealth>${el("State", t.state)}${el("Reason", t.reason)}${el("Description", t.description)}</TargetHealth>`,
    );
  return list("TargetHealthDescriptions", items);
}

function targetGroupXml(tg: LabTargetGroup): string {
  const hc = tg.healthCheck ?? {};
  return (
    el("TargetGroupArn", tg.arn) +
    el("TargetGroupName", tg.name) +
    el("Protocol", tg.protocol ?? "TCP") +
    el("Port", tg.port) +
    el("VpcId", tg.vpcId ?? "vpc-lab0001") +
    el("HealthCheckProtocol", hc.protocol ?? "TCP") +
    el("HealthCheckPort", hc.port ?? "traffic-port") +
    el("HealthCheckEnabled", true) +
    el("HealthCheckIntervalSeconds", hc.intervalS ?? 30) +
    el("HealthCheckTimeoutSeconds", hc.timeoutS ?? 10) +
    el("HealthyThresholdCount", hc.healthyThreshold ?? 5) +
    el("UnhealthyThresholdCount", hc.unhealthyThreshold ?? 2) +
    el("HealthCheckPath", hc.path) +
    list("LoadBalancerArns", tg.loadBalancerArns.map(esc)) +
    el("TargetType", tg.targetType ?? "ip") +
    el("IpAddressType", "ipv4")
  );
}

function describeTargetGroups(state: Elbv2State, form: URLSearchParams): string {
  const arns = members(form, "TargetGroupArns");
  const lbArn = form.get("LoadBalancerArn");
  let groups = state.allTargetGroups();
  if (arns.length) {
    const missing = arns.filter((a) => !state.targetGroup(a));
    if (missing.length)
      throw new QueryError(
        400,
        "TargetGroupNotFound",
        `One or more target groups not found: ${missing.join(", ")}`,
      );
    groups = arns.map((a) => state.targetGroup(a)!);
  } else if (lbArn) {
    if (!state.loadBalancer(lbArn))
      throw new QueryError(400, "LoadBalancerNotFound", `Load balancer '${lbArn}' not found`);
    groups = groups.filter((g) => g.loadBalancerArns.includes(lbArn));
  }
  return list("TargetGroups", groups.map(targetGroupXml));
}

function describeLoadBalancers(state: Elbv2State, form: URLSearchParams): string {
  const arns = members(form, "LoadBalancerArns");
  const missing = arns.filter((a) => !state.loadBalancer(a));
  if (missing.length)
    throw new QueryError(400, "LoadBalancerNotFound", `One or more load balancers not found`);
  const lbs = arns.length ? arns.map((a) => state.loadBalancer(a)!) : state.allLoadBalancers();
  return list(
    "LoadBalancers",
    lbs.map(
      (lb) =>
        el("LoadBalancerArn", lb.arn) +
        el("DNSName", lb.dnsName) +
        el("LoadBalancerName", lb.name) +
        el("Scheme", lb.scheme ?? "internal") +
        el("VpcId", "vpc-lab0001") +
        `<State>${el("Code", "active")}</State>` +
        el("Type", "network") +
        list(
          "AvailabilityZones",
          lb.zones.map(
            (z) =>
              el("ZoneName", z.zoneName) +
              el("SubnetId", z.subnetId) +
              list(
                "LoadBalancerAddresses",
                z.addresses.map(
                  (a) => el("IpAddress", a.ipAddress) + el("PrivateIPv4Address", a.privateIPv4Address),
                ),
              ),
          ),
        ) +
        el("IpAddressType", "ipv4"),
    ),
  );
}

const attributesXml = (attrs: Record<string, string>): string =>
  list(
    "Attributes",
    Object.entries(attrs).map(([k, v]) => el("Key", k) + el("Value", v)),
  );

function describeLoadBalancerAttributes(state: Elbv2State, form: URLSearchParams): string {
  const arn = required(form, "LoadBalancerArn");
  const lb = state.loadBalancer(arn);
  if (!lb) throw new QueryError(400, "LoadBalancerNotFound", `Load balancer '${arn}' not found`);
  return attributesXml({
    "load_balancing.cross_zone.enabled": "false",
    "deletion_protection.enabled": "false",
    ...lb.attributes,
  });
}

function describeTargetGroupAttributes(state: Elbv2State, form: URLSearchParams): string {
  const arn = required(form, "TargetGroupArn");
  const tg = state.targetGroup(arn);
  if (!tg) throw new QueryError(400, "TargetGroupNotFound", `Target groups '${arn}' not found`);
  return attributesXml({
    "deregistration_delay.timeout_seconds": "300",
    "load_balancing.cross_zone.enabled": "use_load_balancer_configuration",
    ...tg.attributes,
  });
}

const ACTIONS: Record<string, (s: Elbv2State, f: URLSearchParams) => string> = {
  DescribeTargetHealth: describeTargetHealth,
  DescribeTargetGroups: describeTargetGroups,
  DescribeLoadBalancers: describeLoadBalancers,
  DescribeLoadBalancerAttributes: describeLoadBalancerAttributes,
  DescribeTargetGroupAttributes: describeTargetGroupAttributes,
};

const xml = (status: number, body: string): AwsLabResponse => ({
  status,
  headers: { "content-type": "text/xml" },
  body: `<?xml version="1.0" encoding="UTF-8"?>\n${body}`,
});

function renderError(_req: AwsLabRequest, err: AwsLabError): AwsLabResponse {
  return xml(
    err.status,
    `<ErrorResponse xmlns="${ELBV2_XMLNS}"><Error>${el("Type", err.type)}${el("Code", err.code)}${el("Message", err.message)}</Error>${el("RequestId", randomUUID())}</ErrorResponse>`,
  );
}

/** The ELBv2 handler for the shared lab server. */
export function elbv2Handler(state: Elbv2State): AwsServiceHandler {
  return {
    name: "elbv2",
    matches(req) {
      if (req.method !== "POST") return false;
      const form = new URLSearchParams(req.body.toString("utf8"));
      return form.get("Version") === VERSION && form.has("Action");
    },
    renderError,
    async handle(req, body) {
      const form = new URLSearchParams(body.toString("utf8"));
      const action = form.get("Action") ?? "";
      const op = ACTIONS[action];
      try {
        if (!op)
          throw new QueryError(
            400,
            "InvalidAction",
            `lab: the action ${action} is not valid for this web service`,
          );
        const result = op(state, form);
        return xml(
          200,
          `<${action}Response xmlns="${ELBV2_XMLNS}"><${action}Result>${result}</${action}Result><ResponseMetadata>${el("RequestId", randomUUID())}</ResponseMetadata></${action}Response>`,
        );
      } catch (e) {
        if (!(e instanceof QueryError)) throw e;
        return renderError(req, { status: e.status, code: e.code, message: e.message, type: "Sender" });
      }
    },
  };
}
