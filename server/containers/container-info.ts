import type { ContainerInspect } from "./engine/engine-client.js";

export type ContainerStateName =
  | "created"
  | "running"
  | "paused"
  | "restarting"
  | "removing"
  | "exited"
  | "dead"
  | "unknown";

/** A published port as the engine bound it. */
export interface PortBinding {
  containerPort: number;
  hostPort: number;
  hostIp: string;
  protocol: string;
}

/** What Osiris reports about a container, independent of any wire format. */
export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  imageId: string;
  state: ContainerStateName;
  exitCode: number;
  oomKilled: boolean;
  ports: PortBinding[];
  labels: Record<string, string>;
  /** RFC 3339 with nanoseconds, as the engine writes it; undefined when never set. */
  createdAt?: string;
  startedAt?: string;
  finishedAt?: string;
  error: string;
  restartCount: number;
  /** The healthcheck's state; "none" when the container has no healthcheck. */
  health: HealthState;
}

export type HealthState = "none" | "starting" | "healthy" | "unhealthy";

const knownStates = new Set<ContainerStateName>([
  "created",
  "running",
  "paused",
  "restarting",
  "removing",
  "exited",
  "dead",
]);

/** The engine writes this for a time that never happened (e.g. FinishedAt of a running container). */
const zeroTime = /^0001-01-01T00:00:00(?:\.0+)?Z$/;

/** What Osiris reports about a container, read from the engine's inspect. */
export function containerInfoFromInspect(inspect: ContainerInspect): ContainerInfo {
  const status = inspect.State?.Status as ContainerStateName | undefined;
  return {
    id: inspect.Id,
    name: inspect.Name.replace(/^\//, ""),
    image: inspect.Config?.Image ?? "",
    imageId: inspect.Image,
    state: status && knownStates.has(status) ? status : "unknown",
    exitCode: inspect.State?.ExitCode ?? 0,
    oomKilled: inspect.State?.OOMKilled ?? false,
    ports: boundPorts(inspect.NetworkSettings?.Ports),
    labels: { ...(inspect.Config?.Labels ?? {}) },
    createdAt: engineTime(inspect.Created),
    startedAt: engineTime(inspect.State?.StartedAt),
    finishedAt: engineTime(inspect.State?.FinishedAt),
    error: inspect.State?.Error ?? "",
    restartCount: inspect.RestartCount ?? 0,
    health: healthState(inspect.State?.Health?.Status),
  };
}

const healthStates = new Set<string>(["starting", "healthy", "unhealthy"]);

/** The engine's health status word; anything else (no healthcheck, "none") is "none". */
export function healthState(status: string | undefined): HealthState {
  return status !== undefined && healthStates.has(status) ? (status as HealthState) : "none";
}

function engineTime(value: string | undefined): string | undefined {
  return value && !zeroTime.test(value) ? value : undefined;
}

type EnginePorts = Record<string, { HostIp: string; HostPort: string }[] | null> | undefined;

function boundPorts(ports: EnginePorts): PortBinding[] {
  const bindings: PortBinding[] = [];
  for (const [key, hostBindings] of Object.entries(ports ?? {})) {
    const [port = "", protocol = "tcp"] = key.split("/");
    for (const binding of hostBindings ?? []) {
      bindings.push({
        containerPort: Number(port),
        hostPort: Number(binding.HostPort),
        hostIp: binding.HostIp,
        protocol,
      });
    }
  }
  return bindings.sort(
    (a, b) =>
      a.containerPort - b.containerPort || byCodePoint(a.protocol, b.protocol) || byCodePoint(a.hostIp, b.hostIp),
  );
}

/** Stable across locales; puts IPv4 addresses before IPv6 ones. */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
