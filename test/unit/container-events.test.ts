import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { containerEventFromEngine } from "../../server/containers/events/container-events.js";

describe("containerEventFromEngine", () => {
  it("separates labels from the attributes the engine mixes in, and keeps the exit code", () => {
    const event = containerEventFromEngine({
      Type: "container",
      Action: "die",
      Actor: { ID: "abc", Attributes: { name: "web", image: "busybox", exitCode: "3", tier: "a" } },
      timeNano: 1_700_000_000_123_456_789n,
    });
    assert.deepEqual(
      { type: event?.type, name: event?.containerName, image: event?.image, labels: event?.labels, exitCode: event?.exitCode, time: event?.timeNano },
      { type: "died", name: "web", image: "busybox", labels: { tier: "a" }, exitCode: 3, time: 1_700_000_000_123_456_789n },
    );
  });

  it("reads health_status events and drops what Osiris does not report", () => {
    const health = containerEventFromEngine({ Type: "container", Action: "health_status: unhealthy", Actor: { ID: "abc" }, time: 1 });
    assert.equal(health?.type, "health_status");
    assert.equal(health?.health, "unhealthy");
    assert.equal(containerEventFromEngine({ Type: "container", Action: "exec_start: sh", Actor: { ID: "abc" } }), undefined);
    assert.equal(containerEventFromEngine({ Type: "network", Action: "connect", Actor: { ID: "n" } }), undefined);
  });
});
