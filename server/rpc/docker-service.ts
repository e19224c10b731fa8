import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { Containers, PullProgress } from "../containers/containers.js";
import type { EventHub } from "../containers/events/event-hub.js";
import { AsyncQueue } from "../containers/events/async-queue.js";
import {
  DockerService,
  ExecDockerContainerResponseSchema,
  GetDockerContainerResponseSchema,
  ListDockerContainersResponseSchema,
  ListDockerImagesResponseSchema,
  PullDockerImageResponseSchema,
  RemoveDockerContainerResponseSchema,
  RemoveDockerImageResponseSchema,
  RestartDockerContainerResponseSchema,
  RunDockerContainerResponseSchema,
  StartDockerContainerResponseSchema,
  StopDockerContainerResponseSchema,
  WaitDockerContainerResponseSchema,
  WhoAmIResponseSchema,
} from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { principalKey } from "../security/access-control.js";
import { containerMessage } from "./container-message.js";
import { roles } from "./enums.js";
import { imageMessage } from "./image-message.js";
import { eventPresenter, logMessage } from "./stream-messages.js";
import { statsMessages } from "./stats-stream.js";
import { encodePageToken } from "./page-token.js";
import { getQueryFromRequest } from "./requests/get-request.js";
import { containerReferenceFromRequest } from "./requests/container-reference.js";
import { eventFilterFromRequest } from "./requests/events-request.js";
import { execSpecFromRequest } from "./requests/exec-request.js";
import { imageToRemoveFromRequest } from "./requests/image-request.js";
import { listQueryFromRequest } from "./requests/list-request.js";
import { logQueryFromRequest } from "./requests/logs-request.js";
import { imageToPullFromRequest } from "./requests/pull-request.js";
import { registryCredentials } from "./requests/registry-credentials.js";
import { restartArgumentsFromRequest } from "./requests/restart-request.js";
import { runSpecFromRequest } from "./requests/run-request.js";
import { stopSpecFromRequest } from "./requests/stop-request.js";
import { waitArgumentsFromRequest } from "./requests/wait-request.js";

export interface DockerServiceDependencies {
  containers: Containers;
  events: EventHub;
  /** Fires when the server starts closing, with the UNAVAILABLE error open streams end with. */
  shutdown: AbortSignal;
  /** Whether every caller must bring credentials (tokens are configured); WhoAmI reports it. */
  authenticationRequired: boolean;
}

/** Translates between the wire and the container layer; errors are mapped by the router's interceptor. */
export function dockerServiceHandlers({
  containers,
  events,
  shutdown,
  authenticationRequired,
}: DockerServiceDependencies): ServiceImpl<typeof DockerService> {
  // Streams end with the call or with the server, whichever comes first; the
  // shutdown signal's reason is the UNAVAILABLE the client then gets.
  const untilShutdown = (context: HandlerContext) => AbortSignal.any([context.signal, shutdown]);

  return {
    async runDockerContainer(request, context) {
      const result = await containers.run(runSpecFromRequest(request), context.signal);
      return create(RunDockerContainerResponseSchema, {
        container: containerMessage(result.container),
        warnings: result.warnings,
      });
    },

    async stopDockerContainer(request, context) {
      const result = await containers.stop(stopSpecFromRequest(request), context.signal);
      return create(StopDockerContainerResponseSchema, {
        container: containerMessage(result.container),
        alreadyStopped: result.alreadyStopped,
      });
    },

    async getDockerContainer(request, context) {
      const { container: reference, consistency } = getQueryFromRequest(request);
      const container = await containers.get(reference, consistency, context.signal);
      return create(GetDockerContainerResponseSchema, { container: containerMessage(container) });
    },

    async listDockerContainers(request, context) {
      const query = listQueryFromRequest(request);
      const page = await containers.list(query, context.signal);
      return create(ListDockerContainersResponseSchema, {
        containers: page.containers.map(containerMessage),
        nextPageToken: page.next ? encodePageToken(page.next, query) : "",
      });
    },

    async startDockerContainer(request, context) {
      const result = await containers.start(containerReferenceFromRequest(request), request.ignoreAlreadyRunning, context.signal);
      return create(StartDockerContainerResponseSchema, {
        container: containerMessage(result.container),
        alreadyRunning: result.alreadyRunning,
      });
    },

    async restartDockerContainer(request, context) {
      const { container: reference, timeoutSeconds } = restartArgumentsFromRequest(request);
      const container = await containers.restart(reference, timeoutSeconds, context.signal);
      return create(RestartDockerContainerResponseSchema, { container: containerMessage(container) });
    },

    async removeDockerContainer(request, context) {
      const result = await containers.remove(
        containerReferenceFromRequest(request),
        { force: request.force, removeVolumes: request.removeVolumes, ignoreNotFound: request.ignoreNotFound },
        context.signal,
      );
      return create(RemoveDockerContainerResponseSchema, result);
    },

    async waitDockerContainer(request, context) {
      const { container, condition } = waitArgumentsFromRequest(request);
      const result = await containers.wait(container, condition, context.signal);
      return create(WaitDockerContainerResponseSchema, result);
    },

    async *streamDockerContainerLogs(request, context) {
      const query = logQueryFromRequest(request);
      for await (const chunk of containers.logs(query, untilShutdown(context))) yield logMessage(chunk);
    },

    streamDockerContainerStats(request, context) {
      return statsMessages(containers, request, untilShutdown(context));
    },

    watchDockerEvents(request, context) {
      const present = eventPresenter(context.requestHeader.get("content-type"));
      return events.watch(eventFilterFromRequest(request), untilShutdown(context), present);
    },

    async execDockerContainer(request, context) {
      const result = await containers.exec(execSpecFromRequest(request), context.signal);
      return create(ExecDockerContainerResponseSchema, result);
    },

    async listDockerImages(_request, context) {
      const images = await containers.listImages(context.signal);
      return create(ListDockerImagesResponseSchema, { images: images.map(imageMessage) });
    },

    whoAmI(_request, context) {
      const principal = context.values.get(principalKey);
      // No principal past access control: authentication is off, and everyone may do everything.
      return create(WhoAmIResponseSchema, {
        principal: principal?.name ?? "",
        role: roles.toProto(principal?.role ?? "operator"),
        authenticationRequired,
      });
    },

    async removeDockerImage(request, context) {
      const result = await containers.removeImage(imageToRemoveFromRequest(request), request.force, context.signal);
      return create(RemoveDockerImageResponseSchema, result);
    },

    async *pullDockerImage(request, context) {
      const image = imageToPullFromRequest(request);
      const credentials = registryCredentials(request.registryAuth);
      const progress = new AsyncQueue<PullProgress>();
      const pulled = containers.pull(image, credentials, context.signal, (step) => progress.push(step));
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
