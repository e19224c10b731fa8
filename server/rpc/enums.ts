// Every proto enum and its domain counterpart, each from one table.
import type { GenEnum } from "@bufbuild/protobuf/codegenv2";
import type { ContainerStateName, HealthState } from "../containers/container-info.js";
import type { LogChunk, ReadConsistency as DomainReadConsistency, WaitCondition as DomainWaitCondition } from "../containers/containers.js";
import type { ContainerEventType } from "../containers/events/container-events.js";
import type { LeaveReason } from "../containers/stats/stats-watcher.js";
import type { Role as DomainRole } from "../security/tokens.js";
import type { MountSpec, PullPolicy as DomainPullPolicy, RestartPolicySpec, TransportProtocol } from "../containers/run-spec.js";
import {
  ContainerState,
  ContainerStateSchema,
  EventType,
  EventTypeSchema,
  HealthStatus,
  HealthStatusSchema,
  LogStream,
  LogStreamSchema,
  MountType,
  MountTypeSchema,
  Protocol,
  ProtocolSchema,
  PullPolicy,
  PullPolicySchema,
  ReadConsistency,
  ReadConsistencySchema,
  RestartPolicyMode,
  RestartPolicyModeSchema,
  Role,
  RoleSchema,
  StatsLeaveReason,
  StatsLeaveReasonSchema,
  WaitCondition,
  WaitConditionSchema,
} from "../../gen/osiris/docker/v1/docker_management_pb.js";

/** A proto enum mapped both ways to the domain's names for the same values. */
export interface EnumMapping<P extends number, D extends string> {
  /**
   * The domain value of a wire value; undefined for a value the table refuses
   * and for a number the proto does not define (binary requests can carry any).
   */
  readonly toDomain: (value: number) => D | undefined;
  /** The wire value of a domain value. */
  readonly toProto: (value: D) => P;
  /** The wire value of text that may or may not be a domain value (e.g. as the engine wrote it). */
  readonly toProtoIfKnown: (text: string) => P | undefined;
}

type DomainValues<T> = Exclude<T[keyof T], undefined>;

/**
 * One table per enum, keyed by every value of the proto enum: a table that
 * misses a value does not compile. A value mapped to undefined is refused on
 * the way in. On the way out a domain value gets the named proto value that
 * maps to it; UNSPECIFIED only when no named one does. Each use below is
 * checked with `satisfies EnumMapping<Proto, Domain>`, so the table's domain
 * values must be exactly the domain type's: one missing, and toProto no longer
 * accepts every domain value; one misspelt, and toDomain returns a non-domain value.
 */
function enumMapping<P extends number, const T extends Record<NoInfer<P>, string | undefined>>(
  schema: GenEnum<P>,
  table: T,
): EnumMapping<P, DomainValues<T>> {
  type D = DomainValues<T>;
  const toDomain = new Map<number, D>();
  const toProto = new Map<string, P>();
  for (const { number } of schema.values) {
    const value = number as P;
    const domain = table[value] as D | undefined;
    if (domain === undefined) continue;
    toDomain.set(value, domain);
    if (!toProto.has(domain) || toProto.get(domain) === 0) toProto.set(domain, value);
  }
  return {
    toDomain: (value) => toDomain.get(value),
    toProto: (value) => toProto.get(value)!,
    toProtoIfKnown: (text) => toProto.get(text),
  };
}

/** "unknown" is what Osiris reports for a state the engine names and Osiris does not know. */
export const containerStates = enumMapping(ContainerStateSchema, {
  [ContainerState.UNSPECIFIED]: "unknown",
  [ContainerState.CREATED]: "created",
  [ContainerState.RUNNING]: "running",
  [ContainerState.PAUSED]: "paused",
  [ContainerState.RESTARTING]: "restarting",
  [ContainerState.REMOVING]: "removing",
  [ContainerState.EXITED]: "exited",
  [ContainerState.DEAD]: "dead",
}) satisfies EnumMapping<ContainerState, ContainerStateName>;

/** UNSPECIFIED: the container has no healthcheck. */
export const healthStatuses = enumMapping(HealthStatusSchema, {
  [HealthStatus.UNSPECIFIED]: "none",
  [HealthStatus.STARTING]: "starting",
  [HealthStatus.HEALTHY]: "healthy",
  [HealthStatus.UNHEALTHY]: "unhealthy",
}) satisfies EnumMapping<HealthStatus, HealthState>;

export const eventTypes = enumMapping(EventTypeSchema, {
  [EventType.UNSPECIFIED]: undefined,
  [EventType.CREATED]: "created",
  [EventType.STARTED]: "started",
  [EventType.DIED]: "died",
  [EventType.STOPPED]: "stopped",
  [EventType.KILLED]: "killed",
  [EventType.OOM]: "oom",
  [EventType.REMOVED]: "removed",
  [EventType.HEALTH_STATUS]: "health_status",
  [EventType.PAUSED]: "paused",
  [EventType.UNPAUSED]: "unpaused",
  [EventType.RESTARTED]: "restarted",
}) satisfies EnumMapping<EventType, ContainerEventType>;

export const logStreams = enumMapping(LogStreamSchema, {
  [LogStream.UNSPECIFIED]: undefined,
  [LogStream.STDOUT]: "stdout",
  [LogStream.STDERR]: "stderr",
}) satisfies EnumMapping<LogStream, LogChunk["stream"]>;

/** UNSPECIFIED in a request means TCP, as in Docker's "80" for "80/tcp". */
export const protocols = enumMapping(ProtocolSchema, {
  [Protocol.UNSPECIFIED]: "tcp",
  [Protocol.TCP]: "tcp",
  [Protocol.UDP]: "udp",
  [Protocol.SCTP]: "sctp",
}) satisfies EnumMapping<Protocol, TransportProtocol>;

export const pullPolicies = enumMapping(PullPolicySchema, {
  [PullPolicy.UNSPECIFIED]: "if-not-present",
  [PullPolicy.IF_NOT_PRESENT]: "if-not-present",
  [PullPolicy.ALWAYS]: "always",
  [PullPolicy.NEVER]: "never",
}) satisfies EnumMapping<PullPolicy, DomainPullPolicy>;

export const restartPolicyModes = enumMapping(RestartPolicyModeSchema, {
  [RestartPolicyMode.UNSPECIFIED]: "no",
  [RestartPolicyMode.NO]: "no",
  [RestartPolicyMode.ALWAYS]: "always",
  [RestartPolicyMode.UNLESS_STOPPED]: "unless-stopped",
  [RestartPolicyMode.ON_FAILURE]: "on-failure",
}) satisfies EnumMapping<RestartPolicyMode, RestartPolicySpec["mode"]>;

/** A mount must say what it is: the three kinds differ in what `source` means. */
export const mountTypes = enumMapping(MountTypeSchema, {
  [MountType.UNSPECIFIED]: undefined,
  [MountType.VOLUME]: "volume",
  [MountType.BIND]: "bind",
  [MountType.TMPFS]: "tmpfs",
}) satisfies EnumMapping<MountType, MountSpec["type"]>;

export const waitConditions = enumMapping(WaitConditionSchema, {
  [WaitCondition.UNSPECIFIED]: "not-running",
  [WaitCondition.NOT_RUNNING]: "not-running",
  [WaitCondition.NEXT_EXIT]: "next-exit",
  [WaitCondition.REMOVED]: "removed",
}) satisfies EnumMapping<WaitCondition, DomainWaitCondition>;

export const readConsistencies = enumMapping(ReadConsistencySchema, {
  [ReadConsistency.UNSPECIFIED]: "cached",
  [ReadConsistency.CACHED]: "cached",
  [ReadConsistency.FRESH]: "fresh",
}) satisfies EnumMapping<ReadConsistency, DomainReadConsistency>;

export const statsLeaveReasons = enumMapping(StatsLeaveReasonSchema, {
  [StatsLeaveReason.UNSPECIFIED]: undefined,
  [StatsLeaveReason.STOPPED]: "stopped",
  [StatsLeaveReason.REMOVED]: "removed",
}) satisfies EnumMapping<StatsLeaveReason, LeaveReason>;

export const roles = enumMapping(RoleSchema, {
  [Role.UNSPECIFIED]: undefined,
  [Role.VIEWER]: "viewer",
  [Role.OPERATOR]: "operator",
}) satisfies EnumMapping<Role, DomainRole>;
