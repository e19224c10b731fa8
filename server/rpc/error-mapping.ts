import type { ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, errorToJson } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { FastifyReply, FastifyRequest } from "fastify";

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
