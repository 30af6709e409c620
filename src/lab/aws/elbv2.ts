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
import type { HealthCheckSettings } from "../../model.js";
import type { AwsLabError, AwsLabRequest, AwsLabResponse, AwsServiceHandler } from "./server.js";

export const ELBV2_XMLNS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";
const VERSION = "2015-12-01";

export interface LabTarget {
  id: string;
  port: number;
  az?: string;
  state: string;
  reason?: string;
  description?: string;
}

export interface LabTargetGroup {
  arn: string;
  name: string;
  protocol?: string;
  port?: number;
  targetType?: string;
  vpcId?: string;
  loadBalancerArns: string[];
  healthCheck?: HealthCheckSettings;
  /** Attributes, e.g. `load_balancing.cross_zone.enabled: use_load_balancer_configuration`. */
  attributes?: Record<string, string>;
}

export interface LabLoadBalancer {
  arn: string;
  name: string;
  dnsName: string;
  scheme?: "internet-facing" | "internal";
  zones: Array<{
    zoneName: string;
    subnetId?: string;
    addresses: Array<{ ipAddress?: string; privateIPv4Address?: string }>;
  }>;
  attributes?: Record<string, string>;
}

/** What the lab's ELBv2 endpoint answers from. */
export class Elbv2State {
  private readonly lbs = new Map<string, LabLoadBalancer>();
  private readonly tgs = new Map<string, LabTargetGroup>();
  private readonly targets = new Map<string, LabTarget[]>();

  setLoadBalancer(lb: LabLoadBalancer): void {
    this.lbs.set(lb.arn, lb);
  }

  setTargetGroup(tg: LabTargetGroup): void {
    this.tgs.set(tg.arn, tg);
    if (!this.targets.has(tg.arn)) this.targets.set(tg.arn, []);
  }

  /** Replaces the registered targets of a group. */
  setTargets(targetGroupArn: string, targets: readonly LabTarget[]): void {
    this.targets.set(
      targetGroupArn,
      targets.map((t) => ({ ...t })),
    );
  }

  /** Changes one target's health; false when the group or target is unknown. */
  setTargetHealth(
    targetGroupArn: string,
    targetId: string,
    health: { state: string; reason?: string; description?: string },
  ): boolean {
    const t = this.targets.get(targetGroupArn)?.find((x) => x.id === targetId);
    if (!t) return false;
    t.state = health.state;
    if (health.reason === undefined) delete t.reason;
    else t.reason = health.reason;
    if (health.description === undefined) delete t.description;
    else t.description = health.description;
    return true;
  }

  loadBalancer(arn: string): LabLoadBalancer | undefined {
    return this.lbs.get(arn);
  }
  targetGroup(arn: string): LabTargetGroup | undefined {
    return this.tgs.get(arn);
  }
  targetsOf(arn: string): LabTarget[] | undefined {
    return this.targets.get(arn);
  }
  allLoadBalancers(): LabLoadBalancer[] {
    return [...this.lbs.values()];
  }
  allTargetGroups(): LabTargetGroup[] {
    return [...this.tgs.values()];
  }
}

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
  const items = targets
    .filter((t) => !wanted || wanted.has(t.id))
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

/** The lab's targets as src/lab/health.ts models them (structural subset). */
export interface LabTargetInput {
  id: string;
  address: string;
  port: number;
  availabilityZone: string;
  health: { state: string; reason?: string; description?: string };
}

export interface LabTopologyOptions {
  /** Default 123456789012. */
  accountId?: string;
  /** Default us-west-2. */
  region?: string;
  /** The NLB's address per AZ (the lab's NLB listens on one loopback address: used for every AZ unless given). */
  nodeAddressByAz?: Record<string, string>;
  crossZone?: boolean;
  /** Health-check interval the lab's model uses, s (ELBv2 allows 5–300). Default 5. */
  healthCheckIntervalS?: number;
}

/** ARNs of the lab's NLB and target group. */
export interface LabArns {
  loadBalancerArn: string;
  targetGroupArn: string;
}

/**
 * Registers the lab's NLB, target group and targets (target ids are their
 * addresses, as for `ip` target groups). Health follows with
 * {@link applyLabHealth}.
 */
export function seedLabTopology(
  state: Elbv2State,
  targets: readonly LabTargetInput[],
  opts: LabTopologyOptions = {},
): LabArns {
  const acct = opts.accountId ?? "123456789012";
  const region = opts.region ?? "us-west-2";
  const loadBalancerArn = `arn:aws:elasticloadbalancing:${region}:${acct}:loadbalancer/net/lab-nlb/0123456789abcdef`;
  const targetGroupArn = `arn:aws:elasticloadbalancing:${region}:${acct}:targetgroup/lab-targets/fedcba9876543210`;
  const zones = [...new Set(targets.map((t) => t.availabilityZone))].sort();
  state.setLoadBalancer({
    arn: loadBalancerArn,
    name: "lab-nlb",
    dnsName: `lab-nlb-0123456789abcdef.elb.${region}.amazonaws.com`,
    zones: zones.map((z, i) => {
      const addr = opts.nodeAddressByAz?.[z];
      return {
        zoneName: z,
        subnetId: `subnet-lab000${i}`,
        addresses: addr ? [{ privateIPv4Address: addr }] : [],
      };
    }),
    attributes: { "load_balancing.cross_zone.enabled": String(opts.crossZone ?? false) },
  });
  state.setTargetGroup({
    arn: targetGroupArn,
    name: "lab-targets",
    protocol: "TCP",
    port: targets[0]?.port ?? 80,
    targetType: "ip",
    loadBalancerArns: [loadBalancerArn],
    healthCheck: {
      protocol: "TCP",
      port: "traffic-port",
      intervalS: opts.healthCheckIntervalS ?? 5,
      timeoutS: 5,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
    },
  });
  state.setTargets(
    targetGroupArn,
    targets.map((t) => ({ id: t.address, port: t.port, az: t.availabilityZone, ...t.health })),
  );
  return { loadBalancerArn, targetGroupArn };
}

/** Applies one lab health transition (`events.on("target-health", …)`); `address` is the target's address. */
export function applyLabHealth(
  state: Elbv2State,
  targetGroupArn: string,
  address: string,
  health: { state: string; reason?: string; description?: string },
): boolean {
  return state.setTargetHealth(targetGroupArn, address, health);
}

/** One AWS/NetworkELB datum, in the shape of the lab CloudWatch store's `StoredDatum`. */
export interface NlbMetricDatum {
  namespace: "AWS/NetworkELB";
  metricName: "HealthyHostCount" | "UnHealthyHostCount";
  dimensions: Array<{ Name: string; Value: string }>;
  timestampMs: number;
  unit: "Count";
  values: number[];
  counts: number[];
  storageResolution: 60;
}

/**
 * HealthyHostCount / UnHealthyHostCount per AZ for a target group at `atMs`,
 * as the NLB would publish them (dimensions LoadBalancer + TargetGroup +
 * AvailabilityZone, ARN-suffix values, sorted by name). The lab pushes these
 * into its CloudWatch store (`metrics.datums`) once a minute.
 */
export function nlbHealthDatums(state: Elbv2State, targetGroupArn: string, atMs: number): NlbMetricDatum[] {
  const tg = state.targetGroup(targetGroupArn);
  const lbArn = tg?.loadBalancerArns[0];
  const lb = lbArn === undefined ? undefined : state.loadBalancer(lbArn);
  const suffix = (arn: string, re: RegExp) => re.exec(arn)?.[1];
  const lbDim = lb ? suffix(lb.arn, /:loadbalancer\/(net\/[^/]+\/[0-9a-f]+)$/) : undefined;
  const tgDim = suffix(targetGroupArn, /:(targetgroup\/[^/]+\/[0-9a-f]+)$/);
  if (!lb || lbDim === undefined || tgDim === undefined) return [];
  const targets = state.targetsOf(targetGroupArn) ?? [];
  const out: NlbMetricDatum[] = [];
  for (const z of lb.zones) {
    const inZone = targets.filter((t) => t.az === z.zoneName);
    const healthy = inZone.filter((t) => t.state === "healthy").length;
    const dimensions = [
      { Name: "AvailabilityZone", Value: z.zoneName },
      { Name: "LoadBalancer", Value: lbDim },
      { Name: "TargetGroup", Value: tgDim },
    ];
    const datum = (metricName: NlbMetricDatum["metricName"], v: number): NlbMetricDatum => ({
      namespace: "AWS/NetworkELB",
      metricName,
      dimensions,
      timestampMs: atMs,
      unit: "Count",
      values: [v],
      counts: [1],
      storageResolution: 60,
    });
    out.push(datum("HealthyHostCount", healthy), datum("UnHealthyHostCount", inZone.length - healthy));
  }
  return out;
}
