import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { GenEnum } from "@bufbuild/protobuf/codegenv2";
import {
  ContainerState,
  ContainerStateSchema,
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
  RestartPolicyMode,
  RestartPolicyModeSchema,
  WaitCondition,
  WaitConditionSchema,
  EventType,
} from "../../gen/osiris/docker/v1/docker_management_pb.js";
import {
  containerStates,
  eventTypes,
  healthStatuses,
  logStreams,
  mountTypes,
  protocols,
  pullPolicies,
  restartPolicyModes,
  waitConditions,
  type EnumMapping,
} from "../../server/rpc/enums.js";

/** Every mapping, seen without its domain type (toProto of each takes only its own domain values). */
const mappings: [string, GenEnum<number>, Pick<EnumMapping<number, string>, "toDomain" | "toProtoIfKnown">][] = [
  ["ContainerState", ContainerStateSchema, containerStates],
  ["HealthStatus", HealthStatusSchema, healthStatuses],
  ["EventType", EventTypeSchema, eventTypes],
  ["LogStream", LogStreamSchema, logStreams],
  ["Protocol", ProtocolSchema, protocols],
  ["PullPolicy", PullPolicySchema, pullPolicies],
  ["RestartPolicyMode", RestartPolicyModeSchema, restartPolicyModes],
  ["MountType", MountTypeSchema, mountTypes],
  ["WaitCondition", WaitConditionSchema, waitConditions],
];

describe("proto enums <-> domain", () => {
  it("maps every named value of every enum to a domain value and back to itself", () => {
    for (const [name, schema, mapping] of mappings) {
      for (const value of schema.values) {
        if (value.number === 0) continue;
        const domain = mapping.toDomain(value.number);
        assert.ok(domain !== undefined, `${name}.${value.name} has no domain value`);
        assert.equal(mapping.toProtoIfKnown(domain), value.number, `${name}.${value.name} does not come back as itself`);
      }
    }
  });

  it("answers undefined for a number the proto does not define, as binary requests can carry", () => {
    for (const [name, , mapping] of mappings) assert.equal(mapping.toDomain(99), undefined, name);
  });

  it("reads UNSPECIFIED as the documented default where there is one, and refuses it where there is none", () => {
    assert.equal(protocols.toDomain(Protocol.UNSPECIFIED), "tcp");
    assert.equal(pullPolicies.toDomain(PullPolicy.UNSPECIFIED), "if-not-present");
    assert.equal(restartPolicyModes.toDomain(RestartPolicyMode.UNSPECIFIED), "no");
    assert.equal(waitConditions.toDomain(WaitCondition.UNSPECIFIED), "not-running");
    assert.equal(mountTypes.toDomain(MountType.UNSPECIFIED), undefined);
    assert.equal(eventTypes.toDomain(EventType.UNSPECIFIED), undefined);
    assert.equal(logStreams.toDomain(LogStream.UNSPECIFIED), undefined);
  });

  it("answers a default with the named value, not UNSPECIFIED", () => {
    assert.equal(protocols.toProto("tcp"), Protocol.TCP);
    assert.equal(pullPolicies.toProto("if-not-present"), PullPolicy.IF_NOT_PRESENT);
    assert.equal(restartPolicyModes.toProto("no"), RestartPolicyMode.NO);
    assert.equal(waitConditions.toProto("not-running"), WaitCondition.NOT_RUNNING);
  });

  it("reports a state or health Osiris does not know as UNSPECIFIED", () => {
    assert.equal(containerStates.toProto("unknown"), ContainerState.UNSPECIFIED);
    assert.equal(healthStatuses.toProto("none"), HealthStatus.UNSPECIFIED);
  });

  it("finds the wire value of engine text only when it is a domain value", () => {
    assert.equal(protocols.toProtoIfKnown("udp"), Protocol.UDP);
    assert.equal(protocols.toProtoIfKnown("ipx"), undefined);
  });
});
