import { isIP } from "node:net";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Protocol, type PortMappingSchema } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { badFlag } from "./flag-error.js";

export type PortMappingInit = MessageInitShape<typeof PortMappingSchema>;

const flag = "-p, --publish";

/** The proto allows at most 1024 ports in a Run; a range beyond that is a typo. */
const maxPortsPerSpec = 1024;

const protocols: Record<string, Protocol> = { tcp: Protocol.TCP, udp: Protocol.UDP, sctp: Protocol.SCTP };

/**
 * `-p [IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]`, as docker reads it (nat.ParsePortSpec):
 * the last two colon-separated parts are the ports, anything before them the
 * host address (an IPv6 address may be written in brackets). Either port may
 * be a range `8000-8009`; ranges must have the same length. An empty host port
 * lets the engine pick one.
 */
export function parsePublish(spec: string): PortMappingInit[] {
  const fail = (reason: string) => badFlag(flag, spec, reason);
  const slash = spec.lastIndexOf("/");
  const address = slash === -1 ? spec : spec.slice(0, slash);
  const protocolName = slash === -1 ? "tcp" : spec.slice(slash + 1).toLowerCase();
  const protocol = protocols[protocolName];
  if (protocol === undefined) throw fail(`unknown protocol "${protocolName}": use tcp, udp or sctp`);

  const parts = address.split(":");
  const containerPart = parts.at(-1)!;
  const hostPart = parts.length >= 2 ? parts.at(-2)! : "";
  let hostIp = parts.length >= 3 ? parts.slice(0, -2).join(":") : "";
  if (hostIp.startsWith("[") && hostIp.endsWith("]")) hostIp = hostIp.slice(1, -1);
  if (hostIp !== "" && isIP(hostIp) === 0) throw fail(`"${hostIp}" is not an IP address`);

  const containerPorts = portRange(containerPart, 1, "container port", fail);
  if (containerPorts === undefined) throw fail("the container port is missing");
  const hostPorts = portRange(hostPart, 0, "host port", fail);
  if (hostPorts !== undefined && hostPorts.count !== containerPorts.count) {
    throw fail(
      containerPorts.count === 1
        ? "a host port range needs a container port range of the same length (Osiris does not pick a port from a range)"
        : "the host and container port ranges differ in length",
    );
  }
  if (containerPorts.count > maxPortsPerSpec) throw fail(`a range may hold at most ${maxPortsPerSpec} ports`);
  return Array.from({ length: containerPorts.count }, (_, offset) => ({
    containerPort: containerPorts.first + offset,
    hostPort: hostPorts === undefined ? 0 : hostPorts.first + offset,
    hostIp,
    protocol,
  }));
}

/** `80` or `8000-8009`; undefined for an empty part. */
function portRange(
  text: string,
  lowest: number,
  what: string,
  fail: (reason: string) => Error,
): { first: number; count: number } | undefined {
  if (text === "") return undefined;
  const match = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!match) throw fail(`${what} "${text}" is not a number or a range like 8000-8009`);
  const first = Number(match[1]);
  const last = match[2] === undefined ? first : Number(match[2]);
  for (const port of [first, last]) {
    if (port < lowest || port > 65535) throw fail(`${what} ${port} is outside ${lowest}-65535`);
  }
  if (last < first) throw fail(`${what} range "${text}" ends before it starts`);
  return { first, count: last - first + 1 };
}
