import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { EventType, type WatchDockerEventsResponse } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { docker, eventually, exitsOnSigint, newTestRun, removeTestContainers, testImage } from "../support/engine-fixtures.js";
import { engineEventListeners } from "../support/engine-connections.js";
import { mainEngine } from "../support/engine-control.js";
import { metric, watchersRegistered } from "../support/server-metrics.js";
import { startTestServer, type ProtocolName, type TestServer } from "../support/test-server.js";

const run = newTestRun();

/** A watcher that records what it receives until cancelled, and how it ended. */
function watch(server: TestServer, protocol: ProtocolName, request: { container?: string; types?: EventType[] } = {}) {
  const controller = new AbortController();
  const events: WatchDockerEventsResponse[] = [];
  const ended = (async (): Promise<Code | "ended"> => {
    try {
      for await (const event of server.client(protocol).watchDockerEvents(
        { labelSelector: run.labels, ...request },
        { signal: controller.signal },
      )) {
        events.push(event);
      }
      return "ended";
    } catch (error) {
      return (error as { code: Code }).code;
    }
  })();
  return { events, ended, cancel: () => controller.abort() };
}

const summary = (events: WatchDockerEventsResponse[]) => events.map((e) => `${EventType[e.type]}:${e.containerName}`);
const keyOf = (e: WatchDockerEventsResponse) => `${e.containerId}:${e.type}:${e.time?.seconds}.${e.time?.nanos}`;

describe("WatchDockerEvents against a real engine", () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer(undefined, { maxStreamsPerPrincipal: 500 });
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server.close();
  });

  it("gives two watchers on different protocols the same ordered events for a run and a stop", async () => {
    const first = watch(server, "grpc-web");
    const second = watch(server, "connect-json");
    await watchersRegistered(server.baseUrl, 2);
    const client = server.client("grpc");
    const name = run.name("watched");
    await client.runDockerContainer({ image: testImage, name, command: exitsOnSigint(0), labels: run.labels });
    await client.stopDockerContainer({ container: name, timeoutSeconds: 0 });
    await client.removeDockerContainer({ container: name });
    const removed = (w: { events: WatchDockerEventsResponse[] }) => w.events.some((e) => e.type === EventType.REMOVED);
    assert.ok(await eventually(async () => removed(first) && removed(second)), "both see the removal");
    first.cancel();
    second.cancel();
    // A stop with no grace sends the stop signal and SIGKILL at once: two KILLED events.
    const expected = ["CREATED", "STARTED", "KILLED", "KILLED", "DIED", "STOPPED", "REMOVED"].map((type) => `${type}:${name}`);
    assert.deepEqual(summary(first.events), expected);
    assert.deepEqual(first.events, second.events);
    assert.deepEqual(
      first.events.filter((e) => e.type === EventType.KILLED).map((e) => e.signal),
      ["15", "9"],
    );
    const died = first.events.find((e) => e.type === EventType.DIED);
    assert.equal(died?.exitCode, 137);
    assert.equal(died?.labels["io.osiris.managed"], "true");
    assert.equal(died?.image, testImage);
    assert.deepEqual(await Promise.all([first.ended, second.ended]), [Code.Canceled, Code.Canceled]);
  });

  it("filters by container and by event type", async () => {
    const client = server.client("grpc");
    const { container } = await client.runDockerContainer({ image: testImage, command: ["true"], labels: run.labels });
    const byType = watch(server, "grpc", { types: [EventType.REMOVED] });
    const byContainer = watch(server, "grpc-web", { container: container!.id.slice(0, 12) });
    await watchersRegistered(server.baseUrl, 2);
    const other = await client.runDockerContainer({ image: testImage, command: ["true"], labels: run.labels });
    await client.removeDockerContainer({ container: other.container!.id, force: true });
    await client.removeDockerContainer({ container: container!.id, force: true });
    assert.ok(await eventually(async () => byType.events.length >= 2 && byContainer.events.length >= 1));
    assert.deepEqual(byType.events.map((e) => e.containerId), [other.container!.id, container!.id]);
    assert.deepEqual(summary(byContainer.events), [`REMOVED:${container!.name}`]);
    byType.cancel();
    byContainer.cancel();
    await Promise.all([byType.ended, byContainer.ended]);
  });

  it("holds one engine subscription, the container cache's, shared by 100 watchers, and keeps it once they leave", async (t) => {
    await watchersRegistered(server.baseUrl, 0);
    assert.equal(await metric(server.baseUrl, "osiris_engine_event_subscriptions"), 1, "the cache subscribes at start");
    const before = await engineEventListeners();
    const protocols: ProtocolName[] = ["grpc", "grpc-web", "connect-json"];
    const watchers = Array.from({ length: 100 }, (_, index) => watch(server, protocols[index % 3]!));
    await watchersRegistered(server.baseUrl, 100);
    const during = await engineEventListeners();
    t.diagnostic(`100 watchers: the engine counts ${during - before} more event listener(s) (${before} before, ${during} during)`);
    assert.equal(during - before, 0, "the watchers add no engine subscription");
    assert.equal(await metric(server.baseUrl, "osiris_engine_event_subscriptions"), 1);
    const name = run.name("fan-out");
    await server.client("grpc").runDockerContainer({ image: testImage, name, command: ["true"], labels: run.labels });
    assert.ok(await eventually(async () => watchers.every((w) => w.events.length >= 1)), "every watcher sees the event");
    for (const w of watchers) w.cancel();
    await Promise.all(watchers.map((w) => w.ended));
    await watchersRegistered(server.baseUrl, 0);
    assert.equal(await metric(server.baseUrl, "osiris_engine_event_subscriptions"), 1, "the cache's subscription stays");
  });

  it("with the cache off, opens one engine subscription for 100 watchers and none once they leave", async (t) => {
    const uncached = await startTestServer(undefined, { containerCache: false });
    try {
      assert.ok(await eventually(async () => (await metric(uncached.baseUrl, "osiris_engine_event_subscriptions")) === 0));
      const before = await engineEventListeners();
      const watchers = Array.from({ length: 100 }, (_, index) => watch(uncached, (["grpc", "grpc-web", "connect-json"] as const)[index % 3]!));
      await watchersRegistered(uncached.baseUrl, 100);
      const during = await engineEventListeners();
      t.diagnostic(`100 watchers: the engine counts ${during - before} more event listener(s) (${before} before, ${during} during)`);
      assert.equal(during - before, 1);
      for (const w of watchers) w.cancel();
      await Promise.all(watchers.map((w) => w.ended));
      assert.ok(await eventually(async () => (await engineEventListeners()) === before), "the subscription ends with the last watcher");
    } finally {
      await uncached.close();
    }
  });

  it("bridges a dockerd restart mid-watch with no gap and no duplicate", async () => {
    const client = server.client("grpc");
    const watcher = watch(server, "grpc-web");
    await watchersRegistered(server.baseUrl, 1);
    const connectionsBefore = await metric(server.baseUrl, "osiris_engine_event_connections_total");
    const beforeName = run.name("before-restart");
    await client.runDockerContainer({ image: testImage, name: beforeName, command: ["true"], labels: run.labels });
    await client.removeDockerContainer({ container: beforeName, force: true });
    assert.ok(await eventually(async () => watcher.events.some((e) => e.type === EventType.REMOVED)));

    await mainEngine.stop();
    await mainEngine.start();

    const afterName = run.name("after-restart");
    await client.runDockerContainer({ image: testImage, name: afterName, command: ["true"], labels: run.labels });
    await client.removeDockerContainer({ container: afterName, force: true });
    assert.ok(
      await eventually(async () => watcher.events.some((e) => e.type === EventType.REMOVED && e.containerName === afterName)),
      "events after the restart arrive on the same stream",
    );
    assert.equal(new Set(watcher.events.map(keyOf)).size, watcher.events.length, "no event twice");
    assert.deepEqual(
      summary(watcher.events).filter((s) => s.endsWith(afterName) && /^(CREATED|STARTED|DIED|REMOVED)/.test(s)),
      ["CREATED", "STARTED", "DIED", "REMOVED"].map((type) => `${type}:${afterName}`),
    );
    assert.ok((await metric(server.baseUrl, "osiris_engine_event_connections_total")) > connectionsBefore, "it reconnected");
    watcher.cancel();
    assert.equal(await watcher.ended, Code.Canceled);
  });

  it("ends watchers with UNAVAILABLE when the engine stays away longer than the reconnect window", async () => {
    const impatient = await startTestServer(undefined, { eventReconnectWindowMs: 500 });
    try {
      const watcher = watch(impatient, "grpc");
      await watchersRegistered(impatient.baseUrl, 1);
      await eventually(async () => (await metric(impatient.baseUrl, "osiris_engine_event_connections_total")) === 1);
      await mainEngine.stop();
      const code = await Promise.race([watcher.ended, new Promise((resolve) => setTimeout(() => resolve("still open"), 10_000))]);
      await mainEngine.start();
      assert.equal(code, Code.Unavailable);
      await docker.ping();
      // The hub may still be between two reconnection attempts: UNAVAILABLE then, which a client retries.
      let late = watch(impatient, "grpc");
      for (let attempt = 0; attempt < 40; attempt++) {
        const registered = eventually(async () => (await metric(impatient.baseUrl, "osiris_event_watchers")) === 1, 2000);
        const outcome = await Promise.race([late.ended, registered]);
        if (outcome === true) break;
        assert.equal(outcome, Code.Unavailable, "a watch refused while the engine's stream reconnects is UNAVAILABLE");
        await new Promise((resolve) => setTimeout(resolve, 250));
        late = watch(impatient, "grpc");
      }
      await watchersRegistered(impatient.baseUrl, 1);
      late.cancel();
      assert.equal(await late.ended, Code.Canceled, "a new watch works once the engine is back");
    } finally {
      await impatient.close();
    }
  });
});
