import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { ContainerLifecycle } from "../containers/container-lifecycle.js";
import type { ContainerService } from "../containers/container-service.js";
import type { EventHub } from "../containers/event-hub.js";
import { AsyncQueue } from "../containers/async-queue.js";
import type { PullProgress } from "../containers/image-puller.js";
import {
  DockerService,
  GetDockerContainerResponseSchema,
  ListDockerContainersResponseSchema,
  PullDockerImageResponseSchema,
  RemoveDockerContainerResponseSchema,
  RestartDockerContainerResponseSchema,
  RunDockerContainerResponseSchema,
  StartDockerContainerResponseSchema,
  StopDockerContainerResponseSchema,
  WaitDockerContainerResponseSchema,
} from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { containerMessage } from "./container-message.js";
import { eventMessage, logMessage } from "./stream-messages.js";
import {
  containerReference,
  eventFilterFromRequest,
  listQueryFromRequest,
  logQueryFromRequest,
  pullImageReference,
  restartRequest,
  waitRequest,
} from "./lifecycle-requests.js";
import { encodePageToken } from "./page-token.js";
import { registryCredentials, runSpecFromRequest, stopSpecFromRequest } from "./request-validation.js";

export interface DockerServiceDependencies {
  containers: ContainerService;
  lifecycle: ContainerLifecycle;
  events: EventHub;
  /** Fires when the server starts closing, with the UNAVAILABLE error open streams end with. */
  shutdown: AbortSignal;
}

/** Translates between the wire and the container layer; errors are mapped by the router's interceptor. */
export function dockerServiceHandlers({
  containers,
  lifecycle,
  events,
  shutdown,
}: DockerServiceDependencies): ServiceImpl<typeof DockerService> {
  // Streams end with the call or with the server, whichever comes first; the
  // shutdown signal's reason is the UNAVAILABLE the client then gets.
  const untilShutdown = (context: HandlerContext) => AbortSignal.any([context.signal, shutdown]);

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

    async getDockerContainer(request, context) {
      const container = await lifecycle.get(containerReference(request), context.signal);
      return create(GetDockerContainerResponseSchema, { container: containerMessage(container) });
    },

    async listDockerContainers(request, context) {
      const query = listQueryFromRequest(request);
      const page = await lifecycle.list(query, context.signal);
      return create(ListDockerContainersResponseSchema, {
        containers: page.containers.map(containerMessage),
        nextPageToken: page.next ? encodePageToken(page.next, query) : "",
      });
    },

    async startDockerContainer(request, context) {
      const result = await lifecycle.start(containerReference(request), request.ignoreAlreadyRunning, context.signal);
      return create(StartDockerContainerResponseSchema, {
        container: containerMessage(result.container),
        alreadyRunning: result.alreadyRunning,
      });
    },

    async restartDockerContainer(request, context) {
      const { container: reference, timeoutSeconds } = restartRequest(request);
      const container = await lifecycle.restart(reference, timeoutSeconds, context.signal);
      return create(RestartDockerContainerResponseSchema, { container: containerMessage(container) });
    },

    async removeDockerContainer(request, context) {
      const result = await lifecycle.remove(
        containerReference(request),
        { force: request.force, removeVolumes: request.removeVolumes, ignoreNotFound: request.ignoreNotFound },
        context.signal,
      );
      return create(RemoveDockerContainerResponseSchema, result);
    },

    async waitDockerContainer(request, context) {
      const { container, condition } = waitRequest(request);
      const result = await lifecycle.wait(container, condition, context.signal);
      return create(WaitDockerContainerResponseSchema, result);
    },

    async *streamDockerContainerLogs(request, context) {
      const query = logQueryFromRequest(request);
      for await (const chunk of lifecycle.logs(query, untilShutdown(context))) yield logMessage(chunk);
    },

    watchDockerEvents(request, context) {
      return events.watch(eventFilterFromRequest(request), untilShutdown(context), eventMessage);
    },

    async *pullDockerImage(request, context) {
      const image = pullImageReference(request);
      const credentials = registryCredentials(request.registryAuth);
      const progress = new AsyncQueue<PullProgress>();
      const pulled = containers.pullImage(image, credentials, context.signal, (step) => progress.push(step));
      pulled.then(
        () => progress.end(),
        (error: unknown) => progress.fail(error),
      );
      for await (const step of progress.drain(context.signal)) {
        yield create(PullDockerImageResponseSchema, {
          update: { case: "progress", value: { ...step, current: BigInt(step.current), total: BigInt(step.total) } },
        });
      }
      const result = await pulled;
      yield create(PullDockerImageResponseSchema, {
        update: { case: "image", value: { imageId: result.imageId, digest: result.digest ?? "" } },
      });
    },
  };
}
