/**
 * Errors of the lab's CloudWatch endpoint, rendered the way CloudWatch's AWS
 * JSON 1.0 endpoint with query compatibility answers (what
 * @aws-sdk/core's AwsJsonRpcProtocol.handleError + ProtocolLib.setQueryCompatError
 * parse in the installed SDK):
 *
 *   HTTP 400
 *   Content-Type: application/x-amz-json-1.0
 *   x-amzn-query-error: InvalidParameterValue;Sender
 *   {"__type":"com.amazonaws.cloudwatch#InvalidParameterValueException","message":"…"}
 *
 * The SDK takes the code from the x-amzn-query-error header first, then maps
 * it to the modeled exception through the shape's `awsQueryError` trait
 * (schemas_0.js), so `err.name` is e.g. `InvalidParameterValueException` and
 * `err.Code` is `InvalidParameterValue`. Unmodeled codes (`Throttling`) keep
 * the query code as their name, which the SDK's retry classifier recognises.
 */
import type { AwsLabError, AwsLabResponse } from "./server.js";

/** Query error code → the modeled exception shape (client-cloudwatch schemas_0.js). */
const SHAPES: Record<string, string> = {
  InvalidParameterValue: "InvalidParameterValueException",
  InvalidParameterCombination: "InvalidParameterCombinationException",
  MissingParameter: "MissingRequiredParameterException",
  ResourceNotFound: "ResourceNotFound",
  InvalidParameterInput: "DashboardInvalidInputError",
  LimitExceeded: "LimitExceededFault",
  ValidationError: "ValidationException",
  InternalServiceError: "InternalServiceFault",
  InvalidNextToken: "InvalidNextToken",
};

/** An error an operation throws; rendered by {@link renderCloudWatchError}. */
export class CwLabError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra members of the error structure (e.g. dashboardValidationMessages). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const invalidValue = (msg: string): CwLabError => new CwLabError(400, "InvalidParameterValue", msg);
export const invalidCombination = (msg: string): CwLabError =>
  new CwLabError(400, "InvalidParameterCombination", msg);
export const missing = (param: string): CwLabError =>
  new CwLabError(400, "MissingParameter", `The parameter ${param} is required.`);
export const validation = (msg: string): CwLabError => new CwLabError(400, "ValidationError", msg);

let reqSeq = 0;
export function requestId(): string {
  reqSeq++;
  const hex = reqSeq.toString(16).padStart(12, "0");
  return `00000000-0000-4000-8000-${hex}`;
}

/** Renders any error in CloudWatch's query-compatible JSON shape. */
export function renderCloudWatchError(err: AwsLabError, extra: Record<string, unknown> = {}): AwsLabResponse {
  const shape = SHAPES[err.code] ?? err.code;
  return {
    status: err.status,
    headers: {
      "content-type": "application/x-amz-json-1.0",
      "x-amzn-requestid": requestId(),
      "x-amzn-query-error": `${err.code};${err.type}`,
    },
    body: JSON.stringify({ __type: `com.amazonaws.cloudwatch#${shape}`, message: err.message, ...extra }),
  };
}
