import type { ContainerInspectInfo } from "dockerode";
import type { ContainerInfo, ContainerStateName, HealthState, PortBinding } from "./container-info.js";

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

export function containerInfoFromInspect(inspect: ContainerInspectInfo): ContainerInfo {
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
