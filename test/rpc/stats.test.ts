import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { StatsLeaveReason, type StreamDockerContainerStatsResponse } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { FakeEngine } from "../support/fake-engine.js";
import { startFastServer, type FastServer, type ProtocolName } from "../support/fast-server.js";
import { metric } from "../support/server-metrics.js";
import { badRequestFields, collect, eventually, rpcError, streamError } from "./expectations.js";

const managed = { "io.osiris.managed": "true" };

/** Reads a stream in the background, keeping what arrives, until `stop` or its end. */
function watch(messages: AsyncIterable<StreamDockerContainerStatsResponse>) {
  const received: StreamDockerContainerStatsResponse[] = [];
  const done = (async () => {
    try {
      for await (const message of messages) received.push(message);
      return Code.Unknown as Code | undefined;
    } catch (error) {
      return (error as { code?: Code }).code;
    }
  })();
  return { received, done };
}

describe("StreamDockerContainerStats over a fake engine", () => {
  let server: FastServer;
  let engine: FakeEngine;
  before(async () => {
    engine = new FakeEngine();
    // Samples every 50 ms rather than every second, so the specification runs fast.
    engine.statsIntervalMs = 50;
    server = await startFastServer({ engine, env: { OSIRIS_MAX_STREAMS_PER_PRINCIPAL: "200" } });
  });
  after(() => server.close());

  it("holds one engine stats stream for 50 watchers of one container, across protocols, and none once they leave", async () => {
    const id = engine.addContainer({ name: "busy", labels: managed, state: "running" });
    engine.setStats(id, { cpuPerCycle: 1e9, onlineCpus: 2 });
    const protocols: ProtocolName[] = ["grpc", "grpc-web", "connect-json"];
    const watchers = Array.from({ length: 50 }, (_, index) => {
      const controller = new AbortController();
      const client = server.client(protocols[index % 3]!);
      return { controller, ...watch(client.streamDockerContainerStats({ containers: ["busy"] }, { signal: controller.signal })) };
    });
    assert.ok(
      await eventually(() => watchers.every((w) => w.received.some((m) => m.update.case === "stats" && m.update.value.cpuPercent !== undefined))),
      "every watcher gets samples with a CPU %",
    );
    assert.equal(engine.openStatsStreams, 1, "one engine stream, shared");
    assert.equal(engine.calls.containerStats, 1, "opened once");
    assert.equal(await metric(server.baseUrl, "osiris_engine_stats_streams"), 1);
    const sample = watchers[0]!.received.find((m) => m.update.case === "stats" && m.update.value.cpuPercent !== undefined)!;
    assert.equal(sample.containerId, id);
    assert.equal(sample.containerName, "busy");
    assert.ok(sample.update.case === "stats");
    assert.equal(sample.update.value.cpuPercent, 100, "one of two CPUs busy is 100 %");
    assert.equal(sample.update.value.memoryUsageBytes, 3n << 20n, "usage minus the inactive page cache");
    for (const watcher of watchers.slice(0, 49)) watcher.controller.abort();
    await Promise.all(watchers.slice(0, 49).map((w) => w.done));
    assert.equal(engine.openStatsStreams, 1, "the last watcher still holds it");
    watchers[49]!.controller.abort();
    assert.equal(await watchers[49]!.done, Code.Canceled);
    assert.ok(await eventually(() => engine.openStatsStreams === 0), "the last watcher to leave closes the engine stream");
    assert.equal(await metric(server.baseUrl, "osiris_engine_stats_streams"), 0);
  });

  it("gives a watcher joining a watched container its latest sample at once, without a new engine stream", async () => {
    const id = engine.addContainer({ name: "shared", labels: managed, state: "running" });
    const first = new AbortController();
    const early = watch(server.client("grpc").streamDockerContainerStats({ containers: [id] }, { signal: first.signal }));
    assert.ok(await eventually(() => early.received.length >= 2));
    const calls = engine.calls.containerStats;
    engine.statsIntervalMs = 60_000;
    try {
      const late = new AbortController();
      const joined = watch(server.client("grpc-web").streamDockerContainerStats({ containers: ["shared"] }, { signal: late.signal }));
      assert.ok(await eventually(() => joined.received.length >= 1, 2000), "the latest sample comes before the engine's next");
      assert.equal(engine.calls.containerStats, calls);
      late.abort();
      await joined.done;
    } finally {
      engine.statsIntervalMs = 50;
      first.abort();
      await early.done;
    }
  });

  it("tells a named container's watchers when it stops or is removed, and ends once every named container has left", async () => {
    const stops = engine.addContainer({ name: "stops", labels: managed, state: "running" });
    const goes = engine.addContainer({ name: "goes", labels: managed, state: "running" });
    const idle = engine.addContainer({ name: "idle", labels: managed, state: "exited" });
    const stream = watch(server.client("connect-json").streamDockerContainerStats({ containers: ["stops", "goes", "idle", stops] }));
    assert.ok(await eventually(() => new Set(stream.received.filter((m) => m.update.case === "stats").map((m) => m.containerName)).size === 2));
    engine.exit(stops, 0);
    await server.client("grpc").removeDockerContainer({ container: goes, force: true });
    assert.equal(await stream.done, Code.Unknown, "the stream ended by itself, without an error");
    const leaves = stream.received.filter((m) => m.update.case === "left").map((m) => [m.containerName, m.update.case === "left" ? m.update.value.reason : 0]);
    assert.deepEqual(
      leaves.sort(),
      [
        ["goes", StatsLeaveReason.REMOVED],
        ["idle", StatsLeaveReason.STOPPED],
        ["stops", StatsLeaveReason.STOPPED],
      ],
      "each container leaves once, a name and an id of the same container counting as one",
    );
    assert.ok(await eventually(() => engine.openStatsStreams === 0));
    assert.ok(idle);
  });

  it("follows every running managed container with an empty list: starts join, stops leave", async () => {
    const before = engine.addContainer({ name: "all-before", labels: managed, state: "running" });
    engine.addContainer({ name: "all-unmanaged", state: "running" });
    const controller = new AbortController();
    const stream = watch(server.client("grpc").streamDockerContainerStats({}, { signal: controller.signal }));
    const names = () => new Set(stream.received.filter((m) => m.update.case === "stats").map((m) => m.containerName));
    assert.ok(await eventually(() => names().has("all-before")));
    const later = engine.addContainer({ name: "all-later", labels: managed, state: "running" });
    assert.ok(await eventually(() => names().has("all-later")), "a container that starts joins the stream");
    engine.exit(before, 0);
    assert.ok(
      await eventually(() => stream.received.some((m) => m.containerId === before && m.update.case === "left" && m.update.value.reason === StatsLeaveReason.STOPPED)),
      "a container that stops leaves it",
    );
    assert.ok(!names().has("all-unmanaged"), "containers outside the scope never appear");
    controller.abort();
    assert.equal(await stream.done, Code.Canceled);
    assert.ok(await eventually(() => engine.openStatsStreams === 0), "leaving releases every engine stream");
    engine.exit(later, 0);
  });

  it("answers one_shot with one sample per container and a CPU %, then answers the next poll from the stream it keeps warm", async () => {
    const id = engine.addContainer({ name: "once", labels: managed, state: "running" });
    const other = engine.addContainer({ name: "twice", labels: managed, state: "running" });
    engine.setStats(id, { cpuPerCycle: 5e8, onlineCpus: 1 });
    const calls = engine.calls.containerStats;
    const answers = await collect(server.client("grpc-web").streamDockerContainerStats({ containers: ["once", "twice"], oneShot: true }));
    assert.deepEqual(answers.map((m) => m.containerId), [id, other]);
    const [only] = answers;
    assert.ok(only?.update.case === "stats");
    assert.equal(only.update.value.cpuPercent, 50);
    // Per container: two one-shot readings, compared, and then one stream kept open for the next poll.
    assert.equal(engine.calls.containerStats - calls, 6);
    assert.ok(await eventually(() => engine.openStatsStreams === 2), "both kept warm");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const [again] = await collect(server.client("grpc").streamDockerContainerStats({ containers: ["once"], oneShot: true }));
    assert.ok(again?.update.case === "stats" && again.update.value.cpuPercent === 50);
    assert.equal(engine.calls.containerStats - calls, 6, "the next poll is answered from the warm stream");
  });

  it("refuses malformed references and an ambiguous id prefix naming containers[i], too many entries naming containers, and an unknown or unmanaged container as NOT_FOUND", async () => {
    const client = server.client("grpc");
    const malformed = await rpcError(collect(client.streamDockerContainerStats({ containers: ["ok-name", "bad name!", ""] })));
    assert.equal(malformed.code, Code.InvalidArgument);
    assert.deepEqual(badRequestFields(malformed), ["containers[1]", "containers[2]"]);
    const many = await rpcError(collect(client.streamDockerContainerStats({ containers: Array.from({ length: 257 }, (_, i) => `c${i}`) })));
    assert.equal(many.code, Code.InvalidArgument);
    assert.deepEqual(badRequestFields(many), ["containers"]);
    const missing = await rpcError(collect(client.streamDockerContainerStats({ containers: ["no-such-container"] })));
    assert.equal(missing.code, Code.NotFound);
    assert.match(missing.message, /no-such-container/);
    engine.addContainer({ id: `abcd1${"0".repeat(59)}`, labels: managed, state: "running" });
    engine.addContainer({ id: `abcd2${"0".repeat(59)}`, labels: managed, state: "running" });
    engine.addContainer({ name: "clear-name", labels: managed, state: "running" });
    const ambiguous = await rpcError(collect(client.streamDockerContainerStats({ containers: ["clear-name", "abcd"], oneShot: true })));
    assert.equal(ambiguous.code, Code.InvalidArgument);
    assert.deepEqual(badRequestFields(ambiguous), ["containers[1]"]);
    engine.addContainer({ name: "foreign", state: "running" });
    const foreign = await rpcError(collect(client.streamDockerContainerStats({ containers: ["foreign"], oneShot: true })));
    assert.equal(foreign.code, Code.NotFound);
  });

  it("ends open streams with UNAVAILABLE when the engine goes away", async () => {
    const id = engine.addContainer({ name: "outage", labels: managed, state: "running" });
    const stream = watch(server.client("grpc").streamDockerContainerStats({ containers: [id] }));
    assert.ok(await eventually(() => stream.received.length > 0));
    engine.down();
    try {
      assert.equal(await stream.done, Code.Unavailable);
      const refused = await streamError(server.client("grpc").streamDockerContainerStats({ containers: [id], oneShot: true }));
      assert.equal(refused.code, Code.Unavailable);
    } finally {
      engine.up();
    }
    assert.equal(engine.openStatsStreams, 0);
  });
});

describe("StreamDockerContainerStats and roles", () => {
  it("is open to a viewer, as a read", async () => {
    const viewerToken = `view-${randomUUID()}`;
    const server = await startFastServer({ env: { OSIRIS_TOKENS: JSON.stringify([{ principal: "wall", role: "viewer", token: viewerToken }]) } });
    try {
      server.engine.addContainer({ name: "seen", labels: managed, state: "running" });
      const answers = await collect(server.clientWithToken("grpc-web", viewerToken).streamDockerContainerStats({ containers: ["seen"], oneShot: true }));
      assert.equal(answers.length, 1);
    } finally {
      await server.close();
    }
  });
});
