import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { isMutating, principalKey } from "./access-control.js";

export interface AuditLog {
  info(fields: object, message: string): void;
}

/**
 * One line per call that may change the engine: who, which RPC, which
 * container and image, and how it ended. Only these named fields are read from
 * the request; env values in particular never reach the log.
 */
export function auditInterceptor(log: AuditLog): Interceptor {
  // Not async: calls it does not audit pass straight through, without an extra promise.
  return (next) => (request) => (isMutating(request) ? audited(next, request) : next(request));

  async function audited(next: Parameters<Interceptor>[0], request: Parameters<Parameters<Interceptor>[0]>[0]) {
    const message = (request.stream ? {} : request.message) as { image?: unknown; name?: unknown; container?: unknown };
    const entry = {
      audit: true,
      rpc: request.method.name,
      container: stringField(message.container) ?? stringField(message.name),
      image: stringField(message.image),
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

function stringField(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}
