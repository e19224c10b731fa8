import { EventType, HealthStatus, type WatchDockerEventsResponse } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { eventActions } from "../arguments/filter-arguments.js";
import { rfc3339NanoFixed } from "./timestamps.js";

const healthNames: Record<HealthStatus, string> = {
  [HealthStatus.UNSPECIFIED]: "none",
  [HealthStatus.STARTING]: "starting",
  [HealthStatus.HEALTHY]: "healthy",
  [HealthStatus.UNHEALTHY]: "unhealthy",
};

/** docker's event as `docker events --format json` prints it (moby's events.Message). */
export interface DockerEventJson {
  Type: "container";
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: "local";
  time: number;
  timeNano: number;
}

export function dockerEvent(event: WatchDockerEventsResponse): DockerEventJson {
  const attributes: Record<string, string> = { ...event.labels, image: event.image, name: event.containerName };
  if (event.type === EventType.DIED) attributes.exitCode = String(event.exitCode);
  if (event.type === EventType.KILLED) attributes.signal = event.signal;
  const action =
    event.type === EventType.HEALTH_STATUS ? `health_status: ${healthNames[event.health]}` : eventActions[event.type];
  const seconds = Number(event.time?.seconds ?? 0n);
  const nanos = event.time?.nanos ?? 0;
  return {
    Type: "container",
    Action: action,
    Actor: { ID: event.containerId, Attributes: attributes },
    scope: "local",
    time: seconds,
    timeNano: seconds * 1e9 + nanos,
  };
}

/** `2026-11-29T02:10:00.123456789Z container start <id> (image=busybox, name=web)`, as `docker events` prints. */
export function eventLine(event: WatchDockerEventsResponse): string {
  const { Action, Actor } = dockerEvent(event);
  const attributes = Object.keys(Actor.Attributes)
    .sort()
    .map((key) => `${key}=${Actor.Attributes[key]}`)
    .join(", ");
  const time = rfc3339NanoFixed(event.time ?? { seconds: 0n, nanos: 0, $typeName: "google.protobuf.Timestamp" });
  return `${time} container ${Action} ${Actor.ID} (${attributes})`;
}
