import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import type { ContainerService } from "../containers/container-service.js";
import { DockerService } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { dockerServiceHandlers } from "./docker-service.js";
import { toConnectError, type ErrorLog } from "./errors.js";

export function routes(containers: ContainerService): (router: ConnectRouter) => void {
  return (router) => {
    router.service(DockerService, dockerServiceHandlers(containers));
  };
}

/** Maps every error leaving a handler to its status code, for unary and streaming calls alike. */
export function errorMappingInterceptor(log: ErrorLog): Interceptor {
  return (next) => async (request) => {
    try {
      const response = await next(request);
      if (!response.stream) return response;
      return { ...response, message: mapStreamErrors(response.message, log) };
    } catch (error) {
      throw toConnectError(error, log);
    }
  };
}

async function* mapStreamErrors<T>(messages: AsyncIterable<T>, log: ErrorLog): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    throw toConnectError(error, log);
  }
}
