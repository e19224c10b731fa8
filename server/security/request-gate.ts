// What is refused before a request's body is read. connect-es reads a unary
// body in full before any interceptor runs, so checks made only there come
// after a caller without credentials has had megabytes buffered.
import type { HandlerContext } from "@connectrpc/connect";
import { refusal } from "../rpc/errors.js";
import { openServices, refuseUnidentifiedCaller } from "./access-control.js";
import { auditRefusedBeforeBody, type AuditLog } from "./audit-log.js";
import type { FrontDoor } from "./rate-limit.js";
import type { TokenEntry } from "./tokens.js";

/**
 * Largest body a call to an open service (health, reflection) may declare.
 * Their requests are a service name or a symbol, a few hundred bytes; anyone
 * may call them, so they must not be a way to make the server buffer
 * readMaxBytes per stream.
 */
export const openServiceMaxBodyBytes = 64 * 1024;

export interface CredentialGateOptions {
  tokens: readonly TokenEntry[] | undefined;
  /** The app's front door, so that callers refused here still count against their address's rate limit. */
  frontDoor: FrontDoor;
  audit: AuditLog;
}

/**
 * A connect-es request gate (runs before the body is read; what it throws is
 * the answer, and the body is never read): refuses a call to an open service
 * that declares a body past `openServiceMaxBodyBytes`, and, when tokens are
 * configured, a call to any other service from a caller with neither a
 * token that names a principal nor a verified client certificate, with the
 * same answer the front door and access-control interceptors give. Then runs
 * `next` (the decode-failure classifier).
 */
export function credentialGate(options: CredentialGateOptions, next: (context: HandlerContext) => void): (context: HandlerContext) => void {
  return (context) => {
    if (openServices.has(context.service.typeName)) {
      const declared = Number(context.requestHeader.get("content-length") ?? "0");
      if (declared > openServiceMaxBodyBytes) {
        throw refusal(
          "request-too-large",
          `Request body of ${declared} bytes declared for ${context.service.typeName}; its requests are at most ${openServiceMaxBodyBytes} bytes`,
        );
      }
    } else if (options.tokens !== undefined) {
      const unidentified = refuseUnidentifiedCaller(context, options.tokens);
      if (unidentified) {
        const limited = options.frontDoor({
          service: context.service,
          authorization: context.requestHeader.get("authorization"),
          values: context.values,
        });
        if (limited) throw limited;
        auditRefusedBeforeBody(options.audit, context, unidentified);
        throw unidentified;
      }
    }
    next(context);
  };
}
