import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import type { EngineMonitor } from "../containers/engine-monitor.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ServerReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { DockerService } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { dockerServiceHandlers, type DockerServiceDependencies } from "./docker-service.js";
import { toConnectError, type ErrorLog } from "./errors.js";
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
