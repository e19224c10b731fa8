import { create } from "@bufbuild/protobuf";
import { TimestampSchema, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { ContainerInfo } from "../containers/container-info.js";
import { clientVisibleLabels } from "../containers/grammar/labels.js";
import { ContainerSchema, PortMappingSchema, Protocol, type Container } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { containerStates, healthStatuses, protocols } from "./enums.js";

export function containerMessage(info: ContainerInfo): Container {
  return create(ContainerSchema, {
    id: info.id,
    name: info.name,
    image: info.image,
    imageId: info.imageId,
    state: containerStates.toProto(info.state),
    exitCode: info.exitCode,
    oomKilled: info.oomKilled,
    ports: info.ports.map((port) =>
      create(PortMappingSchema, {
        containerPort: port.containerPort,
        hostPort: port.hostPort,
        hostIp: port.hostIp,
        protocol: protocols.toProtoIfKnown(port.protocol) ?? Protocol.UNSPECIFIED,
      }),
    ),
    labels: clientVisibleLabels(info.labels),
    createdAt: timestampFromRfc3339(info.createdAt),
    startedAt: timestampFromRfc3339(info.startedAt),
    finishedAt: timestampFromRfc3339(info.finishedAt),
    error: info.error,
    restartCount: info.restartCount,
    health: healthStatuses.toProto(info.health),
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
