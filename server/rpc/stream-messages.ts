import { create } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import type { ContainerEvent } from "../containers/events/container-events.js";
import type { LogChunk } from "../containers/containers.js";
import { clientVisibleLabels } from "../containers/grammar/labels.js";
import {
  StreamDockerContainerLogsResponseSchema,
  WatchDockerEventsResponseSchema,
  type StreamDockerContainerLogsResponse,
  type WatchDockerEventsResponse,
} from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { timestampFromRfc3339 } from "./container-message.js";
import { eventTypes, healthStatuses, logStreams } from "./enums.js";

export function logMessage(chunk: LogChunk): StreamDockerContainerLogsResponse {
  return create(StreamDockerContainerLogsResponseSchema, {
    stream: logStreams.toProto(chunk.stream),
    data: chunk.data,
    timestamp: timestampFromRfc3339(chunk.time),
  });
}

/** One event goes to every watcher: its message is made once and shared (messages are not mutated). */
const eventMessages = new WeakMap<ContainerEvent, WatchDockerEventsResponse>();

export function eventMessage(event: ContainerEvent): WatchDockerEventsResponse {
  let message = eventMessages.get(event);
  if (!message) {
    message = newEventMessage(event);
    eventMessages.set(event, message);
  }
  return message;
}

function newEventMessage(event: ContainerEvent): WatchDockerEventsResponse {
  return create(WatchDockerEventsResponseSchema, {
    type: eventTypes.toProto(event.type),
    containerId: event.containerId,
    containerName: event.containerName,
    image: event.image,
    labels: clientVisibleLabels(event.labels),
    time: create(TimestampSchema, {
      seconds: event.timeNano / 1_000_000_000n,
      nanos: Number(event.timeNano % 1_000_000_000n),
    }),
    exitCode: event.exitCode,
    signal: event.signal,
    health: healthStatuses.toProto(event.health),
  });
}
