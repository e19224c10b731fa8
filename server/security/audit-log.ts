import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { isMutating, principalKey } from "./access-control.js";

export interface AuditLog {
  info(fields: object, message: string): void;
}

/**
 * Longest container, name or image value an audit line quotes. The values are
 * logged as the caller sent them, before validation and even when the call is
 * refused for its credentials, so without a cap one call could write megabytes.
 * Real references are far shorter (an image reference is at most 255
 * characters in practice; a container id 64).
 */
export const auditedValueMaxLength = 256;

/**
 * One line per call that may change the engine: who, which RPC, which
 * container, image and command, and how it ended. Only these named fields are
 * read from the request; env values and exec stdin in particular never reach the log.
 */
export function auditInterceptor(log: AuditLog): Interceptor {
  // Not async: calls it does not audit pass straight through, without an extra promise.
  return (next) => (request) => (isMutating(request) ? audited(next, request) : next(request));

  async function audited(next: Parameters<Interceptor>[0], request: Parameters<Parameters<Interceptor>[0]>[0]) {
    const message = (request.stream ? {} : request.message) as { image?: unknown; name?: unknown; container?: unknown; command?: unknown };
    const entry = {
      audit: true,
      rpc: request.method.name,
      container: stringField(message.container) ?? stringField(message.name),
      image: stringField(message.image),
      command: commandField(message.command),
    };
    try {
      const response = await next(request);
      log.info({ ...entry, principal: request.contextValues.get(principalKey)?.name, outcome: "OK" }, "audit");
      return response;
    } catch (error) {
      const outcome = Code[ConnectError.from(error).code];
      log.info({ ...entry, principal: request.contextValues.get(principalKey)?.name, outcome }, "audit");
      throw error;
    }
  }
}

/** A request field as the audit line quotes it: a non-empty string, cut at the cap with the cut said. */
function stringField(value: unknown): string | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  if (value.length <= auditedValueMaxLength) return value;
  return `${value.slice(0, auditedValueMaxLength)}...(${value.length - auditedValueMaxLength} more characters)`;
}

/** Most arguments of a command (Run, Exec) an audit line quotes, each cut as stringField cuts. */
export const auditedCommandMaxEntries = 64;

/** A repeated string field as the audit line quotes it: the first entries, the rest counted. */
function commandField(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const quoted = value.slice(0, auditedCommandMaxEntries).map((entry) => stringField(entry) ?? "");
  if (value.length > auditedCommandMaxEntries) quoted.push(`...(${value.length - auditedCommandMaxEntries} more arguments)`);
  return quoted;
}

/**
 * The audit line of a mutating call refused before its body was read (by the
 * request gate, for its credentials): the RPC and outcome, but no container or
 * image, which are in the body nobody read.
 */
export function auditRefusedBeforeBody(
  log: AuditLog,
  call: { service: { typeName: string }; method: Pick<DescMethod, "idempotency" | "name"> },
  error: ConnectError,
): void {
  if (isMutating(call)) log.info({ audit: true, rpc: call.method.name, principal: undefined, outcome: Code[error.code] }, "audit");
}
