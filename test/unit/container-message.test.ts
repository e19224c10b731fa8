import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ContainerState, Protocol } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { containerInfoFromInspect } from "../../server/containers/container-info.js";
import type { ContainerInspect } from "../../server/containers/engine/engine-client.js";
import { containerMessage, timestampFromRfc3339 } from "../../server/rpc/container-message.js";

describe("engine inspect to Container message", () => {
  const inspect = {
    Id: "f".repeat(64),
    Name: "/web",
    Image: `sha256:${"a".repeat(64)}`,
    Created: "2026-11-28T12:30:24.185567246Z",
    RestartCount: 2,
    Config: { Image: "busybox", Labels: { "io.osiris.managed": "true" } },
    State: {
      Status: "running",
      ExitCode: 0,
      OOMKilled: false,
      Error: "",
      StartedAt: "2026-11-28T12:30:24.395569790Z",
      FinishedAt: "0001-01-01T00:00:00Z",
    },
    NetworkSettings: {
      Ports: {
        "80/tcp": [
          { HostIp: "0.0.0.0", HostPort: "32768" },
          { HostIp: "::", HostPort: "32768" },
        ],
        "53/udp": null,
      },
    },
  } as unknown as ContainerInspect;

  it("maps state, ports as bound, and keeps nanoseconds", () => {
    const message = containerMessage(containerInfoFromInspect(inspect));
    assert.equal(message.name, "web");
    assert.equal(message.state, ContainerState.RUNNING);
    assert.equal(message.restartCount, 2);
    assert.deepEqual(
      message.ports.map((p) => [p.containerPort, p.hostPort, p.hostIp, p.protocol]),
      [
        [80, 32768, "0.0.0.0", Protocol.TCP],
        [80, 32768, "::", Protocol.TCP],
      ],
    );
    assert.equal(message.startedAt?.nanos, 395569790);
    assert.equal(message.finishedAt, undefined, "the engine's zero time means never");
  });

  it("reports an unknown engine state as UNSPECIFIED rather than guessing", () => {
    const odd = { ...inspect, State: { ...inspect.State, Status: "hibernating" } } as unknown as ContainerInspect;
    assert.equal(containerMessage(containerInfoFromInspect(odd)).state, ContainerState.UNSPECIFIED);
  });

  it("parses RFC 3339 with offsets and short fractions", () => {
    const t = timestampFromRfc3339("2026-11-28T13:30:24.5+01:00");
    assert.equal(t?.seconds, BigInt(Date.parse("2026-11-28T12:30:24Z") / 1000));
    assert.equal(t?.nanos, 500_000_000);
    assert.equal(timestampFromRfc3339("yesterday"), undefined);
  });
});
