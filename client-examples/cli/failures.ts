import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";

/** docker's exit code when the error is the tool's, not the container's. */
export const osirisErrorExitCode = 125;

/** A flag or argument the user got wrong; reported before anything is sent. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Socket errors that mean the server was never reached. */
const unreachableCodes = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "ECONNRESET",
  "EPIPE",
]);

/** The socket error code anywhere in an error's cause chain. */
function socketErrorCode(error: unknown): string | undefined {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 8; cause = cause.cause, depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && unreachableCodes.has(code)) return code;
  }
  return undefined;
}

/** True when the server was never reached: every further call would fail the same way. */
export function isUnreachable(error: unknown): boolean {
  if (error instanceof UsageError) return false;
  const connectError = ConnectError.from(error);
  return connectError.code === Code.Unavailable && socketErrorCode(connectError) !== undefined;
}

/** `NotFound` -> `NOT_FOUND`, the canonical name the proto's documentation uses. */
export function codeName(code: Code): string {
  return (Code[code] ?? "UNKNOWN").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/**
 * The lines a user reads for a failure: one clear line when the server cannot
 * be reached (no stack), else the server's code, message and field violations.
 */
export function describeFailure(error: unknown, serverUrl: string): string[] {
  if (error instanceof UsageError) return [`osiris: ${error.message}`];
  const connectError = ConnectError.from(error);
  const socketCode = connectError.code === Code.Unavailable ? socketErrorCode(connectError) : undefined;
  if (socketCode !== undefined) {
    return [`Cannot connect to Osiris at ${serverUrl} (${socketCode}). Is the server running? Set --url or OSIRIS_URL.`];
  }
  const lines = [`Error response from Osiris: ${codeName(connectError.code)}: ${connectError.rawMessage}`];
  for (const detail of connectError.findDetails(BadRequestSchema)) {
    for (const violation of detail.fieldViolations) lines.push(`  ${violation.field}: ${violation.description}`);
  }
  return lines;
}
