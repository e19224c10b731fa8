import { ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import type { EngineMonitor } from "../containers/engine/engine-monitor.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ServerReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { DockerService } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { dockerServiceHandlers, type DockerServiceDependencies } from "./docker-service.js";
import { clientCanceledError } from "./errors.js";
import { healthHandlers } from "./health-service.js";
import { ReflectionCatalog, reflectionV1alphaHandlers, reflectionV1Handlers } from "./reflection-service.js";

export interface RouteDependencies extends DockerServiceDependencies {
  monitor: EngineMonitor;
}

export function routes(dependencies: RouteDependencies): (router: ConnectRouter) => void {
  const { monitor, shutdown } = dependencies;
  const catalog = new ReflectionCatalog([DockerService, Health, ServerReflectionV1, ServerReflectionV1alpha]);
  return (router) => {
    router.service(DockerService, dockerServiceHandlers(dependencies));
    router.service(Health, healthHandlers(monitor, shutdown));
    router.service(ServerReflectionV1, reflectionV1Handlers(catalog));
    router.service(ServerReflectionV1alpha, reflectionV1alphaHandlers(catalog));
  };
}

/**
 * Ends a streaming answer's handler when its call ends. connect-node awaits
 * each write of the answer until the response emits "drain" or "error"; when
 * the client vanishes while a write waits on back-pressure, Node emits neither
 * (see app.ts), so connect never asks the handler for its next message. The
 * handler's generator then stays suspended at its yield: its signal has fired,
 * but a suspended generator cannot see it, and its finally blocks (the engine
 * connection, the watcher slot, the stream count, the request log) never run.
 * Here the call's signal closes the handler's iterator at once, whatever
 * connect is waiting for. A write failure connect reports (`throw`) closes it
 * the same way: the client left, and the handler is told by return, not by a
 * transport error it would log as a failure of its own.
 * It must be the outermost interceptor, so that every layer's cleanup runs.
 * A call cut before its first message was asked for closes a handler that
 * never started; the layers that count calls end their count through
 * onStreamEnd (stream-end.ts), which an unstarted generator's finally would not.
 */
export function streamLifetimeInterceptor(): Interceptor {
  // Unary answers pass straight through, without an extra promise.
  return (next) => (request) =>
    request.method.methodKind !== "server_streaming" && request.method.methodKind !== "bidi_streaming"
      ? next(request)
      : next(request).then((response) =>
          response.stream ? { ...response, message: endedWithCall(response.message, request.signal) } : response,
        );
}

function endedWithCall<T>(messages: AsyncIterable<T>, signal: AbortSignal): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]: (): AsyncIterator<T> => {
      const inner = messages[Symbol.asyncIterator]();
      /** "ended": the handler finished, or the consumer returned; "cut": the call ended first. */
      let state: "open" | "ended" | "cut" = "open";
      const settle = (next: "ended" | "cut") => {
        state = next;
        signal.removeEventListener("abort", cut);
      };
      const closeInner = () => {
        try {
          // Runs the handler's finally blocks now if it waits at a yield, or as soon as its current step ends.
          inner.return?.().catch(() => undefined);
        } catch {
          // The handler's cleanup failed; its call is over either way.
        }
      };
      // An abort listener runs for one connection: it must not throw.
      function cut() {
        if (state !== "open") return;
        settle("cut");
        closeInner();
      }
      if (signal.aborted) cut();
      else signal.addEventListener("abort", cut, { once: true });
      return {
        next: () => {
          if (state === "cut") return Promise.reject(callEnded(signal));
          if (state === "ended") return Promise.resolve({ done: true, value: undefined });
          return inner.next().then(
            (result) => {
              if (result.done) settle("ended");
              return result;
            },
            (error: unknown) => {
              settle("ended");
              throw error;
            },
          );
        },
        return: (value?: unknown) => {
          if (state === "open") {
            settle("ended");
            closeInner();
          }
          return Promise.resolve({ done: true, value: value as T });
        },
        throw: () => {
          cut();
          return Promise.reject(callEnded(signal));
        },
      };
    },
  };
}

/** Why a call's stream ended early: the signal's own reason (deadline, shutdown), else the client left. */
function callEnded(signal: AbortSignal): ConnectError {
  return signal.reason instanceof ConnectError ? signal.reason : clientCanceledError();
}
