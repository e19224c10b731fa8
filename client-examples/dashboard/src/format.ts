/// <reference lib="dom" />
import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { ContainerState, HealthStatus, Protocol, type Container, type PortMapping } from "../../../gen/osiris/docker/v1/docker_management_pb.js";

/** `docker ps`'s words for each state; the CSS colours rows by them. */
export const stateNames: Record<ContainerState, string> = {
  [ContainerState.UNSPECIFIED]: "unknown",
  [ContainerState.CREATED]: "created",
  [ContainerState.RUNNING]: "running",
  [ContainerState.PAUSED]: "paused",
  [ContainerState.RESTARTING]: "restarting",
  [ContainerState.REMOVING]: "removing",
  [ContainerState.EXITED]: "exited",
  [ContainerState.DEAD]: "dead",
};

export const healthNames: Record<HealthStatus, string> = {
  [HealthStatus.UNSPECIFIED]: "",
  [HealthStatus.STARTING]: "starting",
  [HealthStatus.HEALTHY]: "healthy",
  [HealthStatus.UNHEALTHY]: "unhealthy",
};

export const protocolNames: Record<Protocol, string> = {
  [Protocol.UNSPECIFIED]: "tcp",
  [Protocol.TCP]: "tcp",
  [Protocol.UDP]: "udp",
  [Protocol.SCTP]: "sctp",
};

export function millisecondsOf(timestamp: Timestamp | undefined): number | undefined {
  if (!timestamp || (timestamp.seconds === 0n && timestamp.nanos === 0)) return undefined;
  return timestampMs(timestamp);
}

/** "3 minutes", as `docker ps` says it. */
export function durationWords(milliseconds: number): string {
  const seconds = Math.max(0, Math.round(milliseconds / 1000));
  if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} hour${hours === 1 ? "" : "s"}`;
  return `${Math.round(hours / 24)} days`;
}

/** The Status column of `docker ps`: "Up 3 minutes", "Exited (137) 2 hours ago". */
export function statusText(container: Container, now: number): string {
  const started = millisecondsOf(container.startedAt);
  const finished = millisecondsOf(container.finishedAt);
  switch (container.state) {
    case ContainerState.RUNNING:
      return started === undefined ? "Up" : `Up ${durationWords(now - started)}`;
    case ContainerState.PAUSED:
      return started === undefined ? "Paused" : `Up ${durationWords(now - started)} (paused)`;
    case ContainerState.EXITED:
    case ContainerState.DEAD: {
      const oom = container.oomKilled ? ", out of memory" : "";
      return `Exited (${container.exitCode}${oom})${finished === undefined ? "" : ` ${durationWords(now - finished)} ago`}`;
    }
    case ContainerState.RESTARTING:
      return `Restarting (${container.exitCode})`;
    case ContainerState.CREATED:
      return "Created";
    default:
      return stateNames[container.state];
  }
}

/** Where a browser on this machine reaches a published port: wildcard binds are reached through the host the page came from. */
export function portUrl(port: PortMapping): string | undefined {
  if (port.protocol === Protocol.UDP || port.protocol === Protocol.SCTP || port.hostPort === 0) return undefined;
  const wildcard = port.hostIp === "" || port.hostIp === "0.0.0.0" || port.hostIp === "::";
  const host = wildcard ? location.hostname : port.hostIp;
  return `http://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${port.hostPort}`;
}

export function portText(port: PortMapping): string {
  const protocol = protocolNames[port.protocol];
  if (port.hostPort === 0) return `${port.containerPort}/${protocol}`;
  return `${port.hostIp || "*"}:${port.hostPort}→${port.containerPort}/${protocol}`;
}

export function bytesText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
