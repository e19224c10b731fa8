import { ContainerState, HealthStatus, Protocol, type Container, type PortMapping } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { stateNames } from "../arguments/filter-arguments.js";
import { humanDuration } from "./human-units.js";
import { goTimeString, timestampMs } from "./timestamps.js";

/**
 * A container as `docker ps` shows it: the fields its templates and
 * `--format json` know. Osiris's Container has no command, size, mounts or
 * networks, so `.Command`, `.Size`, `.Mounts` and `.Networks` are left out
 * rather than shown empty.
 */
export interface ContainerRow {
  ID: string;
  Image: string;
  CreatedAt: string;
  RunningFor: string;
  Ports: string;
  State: string;
  Status: string;
  Names: string;
  Labels: string;
}

/** `ps` without --format: docker's columns, less COMMAND (see ContainerRow). */
export const defaultPsTable = "{{.ID}}\t{{.Image}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

/** docker's column titles for each field (formatter.containerContext). */
export const psHeaders: Record<keyof ContainerRow, string> & { Label: (key: string) => string } = {
  ID: "CONTAINER ID",
  Image: "IMAGE",
  CreatedAt: "CREATED AT",
  RunningFor: "CREATED",
  Ports: "PORTS",
  State: "STATE",
  Status: "STATUS",
  Names: "NAMES",
  Labels: "LABELS",
  Label: (key) => key.split(".").at(-1)!.replace(/[-_]/g, " ").toUpperCase(),
};

const protocolNames: Record<Protocol, string> = {
  [Protocol.UNSPECIFIED]: "tcp",
  [Protocol.TCP]: "tcp",
  [Protocol.UDP]: "udp",
  [Protocol.SCTP]: "sctp",
};

/** `127.0.0.1:8080->80/tcp, [::1]:8080->80/tcp`, as docker lists published ports. */
export function formatPorts(ports: PortMapping[]): string {
  return ports
    .map((port) => {
      const target = `${port.containerPort}/${protocolNames[port.protocol]}`;
      if (port.hostPort === 0) return target;
      const host = port.hostIp.includes(":") ? `[${port.hostIp}]` : port.hostIp;
      return `${host}:${port.hostPort}->${target}`;
    })
    .join(", ");
}

const healthSuffix: Record<HealthStatus, string> = {
  [HealthStatus.UNSPECIFIED]: "",
  [HealthStatus.STARTING]: " (health: starting)",
  [HealthStatus.HEALTHY]: " (healthy)",
  [HealthStatus.UNHEALTHY]: " (unhealthy)",
};

/** docker's STATUS column: `Up 5 minutes (healthy)`, `Exited (0) 2 hours ago`, `Created`. */
export function containerStatus(container: Container, now: number): string {
  const since = (at: number | undefined) => humanDuration(now - (at ?? now));
  const started = timestampMs(container.startedAt);
  const finished = timestampMs(container.finishedAt);
  switch (container.state) {
    case ContainerState.RUNNING:
      return `Up ${since(started)}${healthSuffix[container.health]}`;
    case ContainerState.PAUSED:
      return `Up ${since(started)} (Paused)`;
    case ContainerState.RESTARTING:
      return `Restarting (${container.exitCode}) ${since(finished)} ago`;
    case ContainerState.EXITED:
      return finished === undefined ? `Exited (${container.exitCode})` : `Exited (${container.exitCode}) ${since(finished)} ago`;
    case ContainerState.CREATED:
      return "Created";
    case ContainerState.REMOVING:
      return "Removal In Progress";
    case ContainerState.DEAD:
      return "Dead";
    case ContainerState.UNSPECIFIED:
      return "Unknown";
  }
}

export function containerRow(container: Container, now: number, fullIds: boolean): ContainerRow {
  const created = timestampMs(container.createdAt);
  return {
    ID: fullIds ? container.id : container.id.slice(0, 12),
    Image: container.image,
    CreatedAt: created === undefined ? "" : goTimeString(created),
    RunningFor: created === undefined ? "" : `${humanDuration(now - created)} ago`,
    Ports: formatPorts(container.ports),
    State: stateNames[container.state],
    Status: containerStatus(container, now),
    Names: container.name,
    Labels: Object.entries(container.labels)
      .map(([key, value]) => `${key}=${value}`)
      .join(","),
  };
}

/** The row as templates see it: the fields plus docker's `.Label "key"` method. */
export function templateData(container: Container, row: ContainerRow): ContainerRow & { Label: (key: string) => string } {
  return { ...row, Label: (key: string) => container.labels[key] ?? "" };
}
