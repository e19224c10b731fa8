import { create, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
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

/** Followers of one container share their chunks (see container-logs.ts): each chunk's message is made once. */
const logMessages = new WeakMap<LogChunk, StreamDockerContainerLogsResponse>();

export function logMessage(chunk: LogChunk): StreamDockerContainerLogsResponse {
  let message = logMessages.get(chunk);
  if (!message) {
    message = newLogMessage(chunk);
    logMessages.set(chunk, message);
  }
  return message;
}

function newLogMessage(chunk: LogChunk): StreamDockerContainerLogsResponse {
  return create(StreamDockerContainerLogsResponseSchema, {
    stream: logStreams.toProto(chunk.stream),
    data: chunk.data,
    timestamp: timestampFromRfc3339(chunk.time),
  });
}

/**
 * How a watcher's events are made into messages, by the call's content type.
 * A thousand watchers get each event, and connect-es serializes every
 * message on every stream: a watcher over a binary protocol (gRPC, gRPC-Web,
 * Connect with proto) gets the event's encoding made once, carried as the
 * message's unknown fields (see preEncoded), so that each stream's
 * serialization only copies bytes. A JSON watcher gets the plain message, as
 * JSON has no unknown fields.
 */
export function eventPresenter(contentType: string | null): (event: ContainerEvent) => WatchDockerEventsResponse {
  return contentType !== null && contentType.includes("json") ? eventMessage : preEncodedEventMessage;
}

const preEncodedEventMessages = new WeakMap<ContainerEvent, WatchDockerEventsResponse>();

function preEncodedEventMessage(event: ContainerEvent): WatchDockerEventsResponse {
  let message = preEncodedEventMessages.get(event);
  if (!message) {
    message = preEncoded(WatchDockerEventsResponseSchema, eventMessage(event));
    preEncodedEventMessages.set(event, message);
  }
  return message;
}

/**
 * An empty message whose unknown fields hold `message`'s encoding: binary
 * serialization writes each unknown field as its tag then its bytes, so one
 * "field" made of the first tag and everything after it is written back as
 * the whole encoding, byte for byte, without walking the message again.
 * Binary only: JSON would show it empty.
 */
function preEncoded<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): MessageShape<Desc> {
  const bytes = toBinary(schema, message);
  const shell = create(schema);
  if (bytes.length === 0) return shell;
  const reader = new BinaryReader(bytes);
  const [no, wireType] = reader.tag();
  shell.$unknown = [{ no, wireType, data: bytes.subarray(reader.pos) }];
  return shell;
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
