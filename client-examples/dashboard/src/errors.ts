/// <reference lib="dom" />
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../../../gen/google/rpc/error_details_pb.js";

export interface ErrorInWords {
  /** The gRPC code's name as the proto documents it, e.g. "NOT_FOUND"; undefined for a network failure. */
  code: string | undefined;
  /** The server's message, or what went wrong on the way to it. */
  message: string;
  /** Each malformed field of an INVALID_ARGUMENT, from its BadRequest detail. */
  violations: { field: string; description: string }[];
}

/** "NotFound" -> "NOT_FOUND", the name the proto and every gRPC client use. */
export function codeName(code: Code): string {
  return (Code[code] ?? String(code)).replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/** True when the call ended because this page stopped it: that is not an error to show. */
export function isOwnCancel(error: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted) return true;
  return error instanceof ConnectError && error.code === Code.Canceled && /abort/i.test(error.rawMessage);
}

/**
 * fetch() failed below HTTP: no answer came. Chromium on a Docker host also
 * fails every request in flight with ERR_NETWORK_CHANGED whenever the engine
 * adds or removes a network interface (each container start does), so the
 * page retries these before it tells anyone.
 */
export function isNetworkFailure(error: unknown): boolean {
  const connectError = ConnectError.from(error);
  return connectError.cause instanceof TypeError && connectError.code === Code.Unknown;
}

/**
 * What to tell a person about a failed call. fetch() reports every network
 * failure as "Failed to fetch", with no reason; the page names the likely ones.
 */
export function describeError(error: unknown): ErrorInWords {
  const connectError = ConnectError.from(error);
  if (isNetworkFailure(connectError)) {
    return {
      code: undefined,
      message: `Osiris at ${location.origin} could not be reached: the server stopped, restarted or the network dropped (${connectError.rawMessage}). Check that Osiris is running (npm run serve), then reload.`,
      violations: [],
    };
  }
  let violations: ErrorInWords["violations"] = [];
  try {
    violations = connectError
      .findDetails(BadRequestSchema)
      .flatMap((detail) => detail.fieldViolations.map(({ field, description }) => ({ field, description })));
  } catch {
    // An undecodable detail leaves the message, which says the same in fewer words.
  }
  return { code: codeName(connectError.code), message: connectError.rawMessage || "(no message)", violations };
}

/** One line: `NOT_FOUND: Container not found: "web"`. */
export function errorLine(error: unknown): string {
  const { code, message, violations } = describeError(error);
  const fields = violations.map((v) => `${v.field}: ${v.description}`).join("; ");
  return `${code ? `${code}: ` : ""}${message}${fields && !message.includes(fields) ? ` (${fields})` : ""}`;
}
