// How errors leave the server, as each protocol expects them; rpc/errors.ts
// chooses their codes.
import type { ConnectError, Interceptor } from "@connectrpc/connect";
import { codeToHttpStatus, errorToJson } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { FastifyReply, FastifyRequest } from "fastify";
import { classifyDecodeFailure } from "./decode-errors.js";
import { toConnectError as mapError, type ErrorLog } from "./errors.js";

/**
 * A handler's error as the client sees it. A body connect-es could not decode
 * reaches here only on streaming calls (see decode-errors.ts).
 */
function toConnectError(error: unknown, log: ErrorLog): ConnectError {
  classifyDecodeFailure(error);
  return mapError(error, log);
}

/** Maps every error leaving a handler to its status code, for unary and streaming calls alike. */
export function errorMappingInterceptor(log: ErrorLog): Interceptor {
  // A promise chain rather than async/await: this runs on every call, and each await costs ticks.
  return (next) => (request) => {
    let pending;
    try {
      pending = next(request);
    } catch (error) {
      return Promise.reject(toConnectError(error, log));
    }
    return pending.then(
      (response) => (response.stream ? { ...response, message: mapStreamErrors(response.message, log) } : response),
      (error: unknown) => {
        throw toConnectError(error, log);
      },
    );
  };
}

async function* mapStreamErrors<T>(messages: AsyncIterable<T>, log: ErrorLog): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    throw toConnectError(error, log);
  }
}

/**
 * Answers a request with an error before connect-es sees it (the host and
 * origin hooks), as each protocol expects one. gRPC and gRPC-Web read the
 * status from a "trailers-only" answer: HTTP 200, grpc-status in the headers.
 * Any other caller (Connect, curl, a browser) gets Connect's JSON error with
 * the HTTP status Connect gives the code (PERMISSION_DENIED 403, INVALID_ARGUMENT 400).
 */
export async function sendConnectError(request: FastifyRequest, reply: FastifyReply, error: ConnectError): Promise<void> {
  const grpcContentType = /^application\/grpc(-web(-text)?)?(?=$|[+;])[^;]*/i.exec(request.headers["content-type"] ?? "")?.[0];
  if (grpcContentType !== undefined) {
    const trailers = new Headers();
    setTrailerStatus(trailers, error);
    reply.code(200).header("content-type", grpcContentType);
    trailers.forEach((value, name) => reply.header(name, value));
    await reply.send();
    return;
  }
  await reply
    .code(codeToHttpStatus(error.code))
    .header("content-type", "application/json")
    .send(errorToJson(error, undefined));
}
