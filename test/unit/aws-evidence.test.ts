import { describe, expect, it } from "vitest";
import { summariseEvidenceSeries } from "../../src/app/aws-evidence.js";
import type { EvidenceSeries } from "../../src/model.js";

const latency = (metricName: string, values: number[]): EvidenceSeries => ({
  id: metricName.toLowerCase(),
  namespace: "AWS/ApiGateway",
  metricName,
  stat: "p99",
  dimensions: { ApiName: "orders", Stage: "prod" },
  timestampsMs: values.map((_, i) => 1_700_000_000_000 + i * 60_000),
  values,
});

describe("summariseEvidenceSeries", () => {
  it("says API Gateway's p99 latency with the one duration rule, as the findings do", () => {
    expect(
      summariseEvidenceSeries([
        latency("Latency", [40, 2049, 85]),
        latency("IntegrationLatency", [12, 640, 9]),
      ]),
    ).toEqual([
      "CloudWatch AWS/ApiGateway Latency p99 for orders/prod: up to 2.0 s (3 minutes)",
      "CloudWatch AWS/ApiGateway IntegrationLatency p99 for orders/prod: up to 640 ms (3 minutes)",
    ]);
  });
});
