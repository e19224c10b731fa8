import { create } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import type { ContainerEvent, ContainerEventType } from "../containers/container-events.js";
import type { LogChunk } from "../containers/container-logs.js";
import { clientVisibleLabels } from "../containers/labels.js";
import {
  EventType,
  LogStream,
  StreamDockerContainerLogsResponseSchema,
  WatchDockerEventsResponseSchema,
  type StreamDockerContainerLogsResponse,
  type WatchDockerEventsResponse,
} from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { healthStatuses, timestampFromRfc3339 } from "./container-message.js";

const eventTypes: Record<ContainerEventType, EventType> = {
  created: EventType.CREATED,
  started: EventType.STARTED,
  died: EventType.DIED,
  stopped: EventType.STOPPED,
  killed: EventType.KILLED,
  oom: EventType.OOM,
  removed: EventType.REMOVED,
  health_status: EventType.HEALTH_STATUS,
  paused: EventType.PAUSED,
  unpaused: EventType.UNPAUSED,
  restarted: EventType.RESTARTED,
};

export function logMessage(chunk: LogChunk): StreamDockerContainerLogsResponse {
  return create(StreamDockerContainerLogsResponseSchema, {
    stream: chunk.stream === "stderr" ? LogStream.STDERR : LogStream.STDOUT,
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
    type: eventTypes[event.type],
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
    health: healthStatuses[event.health],
  });
}
