import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { ContainerService } from "../containers/container-service.js";
import {
  DockerService,
  RunDockerContainerResponseSchema,
  StopDockerContainerResponseSchema,
} from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { containerMessage } from "./container-message.js";
import { runSpecFromRequest, stopSpecFromRequest } from "./request-validation.js";

/** Translates between the wire and the container service; errors are mapped by the router's interceptor. */
export function dockerServiceHandlers(containers: ContainerService): ServiceImpl<typeof DockerService> {
  return {
    async runDockerContainer(request, context) {
      const result = await containers.runContainer(runSpecFromRequest(request), context.signal);
      return create(RunDockerContainerResponseSchema, {
        container: containerMessage(result.container),
        warnings: result.warnings,
      });
    },

    async stopDockerContainer(request, context) {
      const result = await containers.stopContainer(stopSpecFromRequest(request), context.signal);
      return create(StopDockerContainerResponseSchema, {
        container: containerMessage(result.container),
        alreadyStopped: result.alreadyStopped,
      });
    },
  };
}
