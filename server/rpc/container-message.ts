import { create } from "@bufbuild/protobuf";
import { TimestampSchema, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { ContainerInfo, ContainerStateName, HealthState } from "../containers/container-info.js";
import { clientVisibleLabels } from "../containers/labels.js";
import {
  ContainerSchema,
  ContainerState,
  HealthStatus,
  PortMappingSchema,
  Protocol,
  type Container,
} from "../../gen/osiris/docker/v1/docker_management_pb.js";

export const containerStates: Record<ContainerStateName, ContainerState> = {
  created: ContainerState.CREATED,
  running: ContainerState.RUNNING,
  paused: ContainerState.PAUSED,
  restarting: ContainerState.RESTARTING,
  removing: ContainerState.REMOVING,
  exited: ContainerState.EXITED,
  dead: ContainerState.DEAD,
  unknown: ContainerState.UNSPECIFIED,
};

export const healthStatuses: Record<HealthState, HealthStatus> = {
  none: HealthStatus.UNSPECIFIED,
  starting: HealthStatus.STARTING,
  healthy: HealthStatus.HEALTHY,
  unhealthy: HealthStatus.UNHEALTHY,
};

const protocols: Record<string, Protocol> = {
  tcp: Protocol.TCP,
  udp: Protocol.UDP,
  sctp: Protocol.SCTP,
};

export function containerMessage(info: ContainerInfo): Container {
  return create(ContainerSchema, {
    id: info.id,
    name: info.name,
    image: info.image,
    imageId: info.imageId,
    state: containerStates[info.state],
    exitCode: info.exitCode,
    oomKilled: info.oomKilled,
    ports: info.ports.map((port) =>
      create(PortMappingSchema, {
        containerPort: port.containerPort,
        hostPort: port.hostPort,
        hostIp: port.hostIp,
        protocol: protocols[port.protocol] ?? Protocol.UNSPECIFIED,
      }),
    ),
    labels: clientVisibleLabels(info.labels),
    createdAt: timestampFromRfc3339(info.createdAt),
    startedAt: timestampFromRfc3339(info.startedAt),
    finishedAt: timestampFromRfc3339(info.finishedAt),
    error: info.error,
    restartCount: info.restartCount,
    health: healthStatuses[info.health],
  });
}

/**
 * Keeps the engine's nanoseconds, which a round trip through Date would drop.
 * Returns undefined for a missing or unparseable time.
 */
export function timestampFromRfc3339(value: string | undefined): Timestamp | undefined {
  if (!value) return undefined;
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9})\d*)?(Z|[+-]\d\d:\d\d)$/.exec(value);
  if (!match) return undefined;
  const [, wholeSeconds = "", fraction = "", zone = "Z"] = match;
  const millis = Date.parse(`${wholeSeconds}${zone}`);
  if (Number.isNaN(millis)) return undefined;
  return create(TimestampSchema, {
    seconds: BigInt(Math.floor(millis / 1000)),
    nanos: Number(fraction.padEnd(9, "0")),
  });
}
