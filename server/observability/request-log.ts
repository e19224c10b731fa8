import { randomUUID } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { principalKey } from "../security/access-control.js";

export interface RequestLog {
  info(fields: object, message: string): void;
}

/** A client-chosen id is kept only if it is short and plain, so it cannot forge log lines. */
const acceptableRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

export type WireProtocol = "grpc" | "grpc-web" | "connect";

export function wireProtocol(contentType: string | null): WireProtocol {
  if (contentType?.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType?.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/**
 * One line per RPC: request id, method, protocol, code, duration and
 * principal. The id comes from `x-request-id` or is made here, and is echoed
 * in the response headers (or error metadata) so a client can quote it.
 */
export function requestLogInterceptor(log: RequestLog): Interceptor {
  return (next) => async (request) => {
    const started = performance.now();
    const offered = request.header.get("x-request-id");
    const requestId = offered && acceptableRequestId.test(offered) ? offered : randomUUID();
    const line = (code: string) =>
      log.info(
        {
          requestId,
          rpc: `${request.service.typeName}/${request.method.name}`,
          protocol: wireProtocol(request.header.get("content-type")),
          code,
          durationMs: Math.round((performance.now() - started) * 10) / 10,
          principal: request.contextValues.get(principalKey)?.name,
        },
        "rpc",
      );
    try {
      const response = await next(request);
      response.header.set("x-request-id", requestId);
      line("OK");
      return response;
    } catch (error) {
      const rpcError = ConnectError.from(error);
      rpcError.metadata.set("x-request-id", requestId);
      line(Code[rpcError.code]);
      throw rpcError;
    }
  };
}
