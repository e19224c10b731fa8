import { healthState, type HealthState } from "../container-info.js";
import type { EngineEvent } from "../engine/engine-client.js";

export type ContainerEventType =
  | "created"
  | "started"
  | "died"
  | "stopped"
  | "killed"
  | "oom"
  | "removed"
  | "health_status"
  | "paused"
  | "unpaused"
  | "restarted";

export interface ContainerEvent {
  type: ContainerEventType;
  containerId: string;
  containerName: string;
  image: string;
  labels: Record<string, string>;
  /** Nanoseconds since the epoch, as the engine stamped the event. */
  timeNano: bigint;
  exitCode: number;
  signal: string;
  health: HealthState;
}

const eventTypes: Record<string, ContainerEventType> = {
  create: "created",
  start: "started",
  die: "died",
  stop: "stopped",
  kill: "killed",
  oom: "oom",
  destroy: "removed",
  pause: "paused",
  unpause: "unpaused",
  restart: "restarted",
};

/** Attributes the engine mixes into an event next to the container's labels. */
const nonLabelAttributes = new Set(["image", "name", "exitCode", "signal", "execDuration"]);

/**
 * The engine's event as Osiris reports it; undefined for events Osiris does
 * not report (exec, attach, resize, other object types...).
 */
export function containerEventFromEngine(event: EngineEvent): ContainerEvent | undefined {
  if (event.Type !== "container" || !event.Action || !event.Actor?.ID) return undefined;
  const healthMatch = /^health_status: (\w+)$/.exec(event.Action);
  const type = healthMatch ? "health_status" : eventTypes[event.Action];
  if (!type) return undefined;
  const attributes = event.Actor.Attributes ?? {};
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) if (!nonLabelAttributes.has(key)) labels[key] = value;
  return {
    type,
    containerId: event.Actor.ID,
    containerName: attributes.name ?? "",
    image: attributes.image ?? "",
    labels,
    timeNano: eventTimeNano(event),
    exitCode: Number(attributes.exitCode ?? 0) || 0,
    signal: attributes.signal ?? "",
    health: healthState(healthMatch?.[1]),
  };
}

function eventTimeNano(event: EngineEvent): bigint {
  if (typeof event.timeNano === "bigint") return event.timeNano;
  if (typeof event.timeNano === "number") return BigInt(event.timeNano);
  return BigInt(event.time ?? 0) * 1_000_000_000n;
}
