import { randomUUID } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { StopDockerContainerResponse } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { principalKey } from "../security/access-control.js";
import { refusedAtFrontDoorKey } from "../security/rate-limit.js";
import { abandonedCode, onStreamEnd, type StreamEnd } from "../rpc/stream-end.js";
import type { Metrics } from "./metrics.js";

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
 * One log line and one set of metrics per RPC: request id, method, protocol,
 * code, duration and principal. A stream is accounted when it ends, with the
 * code it ended with. The id comes from `x-request-id` or is made here, and is
 * echoed in the response headers (or error metadata) so a client can quote it.
 */
export function telemetryInterceptor(log: RequestLog, metrics: Metrics): Interceptor {
  // prom-client hashes a label object on every update; the handful of series are looked up once.
  const series = new Map<string, { calls: { inc(): void }; seconds: { observe(value: number): void } }>();
  const seriesFor = (method: string, protocol: string, code: string) => {
    const key = `${method} ${protocol} ${code}`;
    let found = series.get(key);
    if (!found) {
      found = { calls: metrics.rpcs.labels(method, protocol, code), seconds: metrics.rpcSeconds.labels(method, protocol, code) };
      series.set(key, found);
    }
    return found;
  };
  return (next) => async (request) => {
    const started = performance.now();
    const offered = request.header.get("x-request-id");
    const requestId = offered && acceptableRequestId.test(offered) ? offered : randomUUID();
    const method = request.method.name;
    const protocol = wireProtocol(request.header.get("content-type"));
    metrics.inFlight.inc({ method });
    const finish = (code: string) => {
      const seconds = (performance.now() - started) / 1000;
      metrics.inFlight.dec({ method });
      const { calls, seconds: latency } = seriesFor(method, protocol, code);
      calls.inc();
      latency.observe(seconds);
      // The front door logs its refusals itself, one line per address and minute.
      if (request.contextValues.get(refusedAtFrontDoorKey)) return;
      log.info(
        {
          requestId,
          rpc: `${request.service.typeName}/${method}`,
          protocol,
          code,
          durationMs: Math.round(seconds * 10_000) / 10,
          principal: request.contextValues.get(principalKey)?.name,
        },
        "rpc",
      );
    };
    try {
      const response = await next(request);
      response.header.set("x-request-id", requestId);
      if (!response.stream) {
        countContainers(metrics, method, response.message);
        finish("OK");
        return response;
      }
      metrics.activeStreams.inc({ method });
      return {
        ...response,
        message: onStreamEnd(response.message, (end) => {
          metrics.activeStreams.dec({ method });
          finish(streamCode(end, request.signal));
        }),
      };
    } catch (error) {
      const rpcError = ConnectError.from(error);
      rpcError.metadata.set("x-request-id", requestId);
      finish(Code[rpcError.code]);
      throw rpcError;
    }
  };
}

function countContainers(metrics: Metrics, method: string, message: unknown): void {
  // Runs are counted where a container is started (buildApp's onContainerStarted): a retried Run finds one, it starts none.
  if (method === "StopDockerContainer" && !(message as StopDockerContainerResponse).alreadyStopped) {
    metrics.containersStopped.inc();
  }
}

/** The code a stream is accounted with, as a unary call's: "OK" or the name of its Connect code. */
function streamCode(end: StreamEnd, signal: AbortSignal): string {
  if (end.how === "completed") return "OK";
  return Code[end.how === "failed" ? ConnectError.from(end.error).code : abandonedCode(signal)];
}
