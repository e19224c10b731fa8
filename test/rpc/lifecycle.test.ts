import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { ContainerState, EventType, type WatchDockerEventsResponse } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { startFastServer, type FastServer } from "../support/fast-server.js";
import { collect, eventually, rpcError, streamError, testImage } from "./expectations.js";

const managed = { "io.osiris.managed": "true" };

describe("Stop, Start, Restart, Wait and Remove over the real router, on a fake engine", () => {
  let server: FastServer;
  before(async () => {
    server = await startFastServer();
  });
  after(() => server.close());

  const client = () => server.client("grpc");
  const run = async (request: { name?: string; autoRemove?: boolean } = {}) =>
    (await client().runDockerContainer({ image: testImage, command: ["sleep", "60"], ...request })).container!;

  it("stops with the requested signal and reports the exit code the container chose", async () => {
    const container = await run();
    server.engine.react(container.id, "SIGINT", 3);
    const stopped = await client().stopDockerContainer({ container: container.id, signal: "INT", timeoutSeconds: 30 });
    assert.equal(stopped.alreadyStopped, false);
    assert.equal(stopped.container?.state, ContainerState.EXITED);
    assert.equal(stopped.container?.exitCode, 3);
    assert.ok(stopped.container?.finishedAt);
  });

  it("kills with SIGKILL after the grace period when the container ignores the requested signal", async () => {
    const container = await run();
    const kills = server.engine.calls.killContainer;
    const stopped = await client().stopDockerContainer({ container: container.id, signal: "SIGUSR1", timeoutSeconds: 0 });
    assert.equal(stopped.container?.exitCode, 137);
    assert.equal(server.engine.calls.killContainer, kills + 2, "the signal, then SIGKILL");
  });

  it("stops an auto_remove container and still reports its exit code", async () => {
    const container = await run({ autoRemove: true });
    server.engine.react(container.id, "SIGTERM", 5);
    const stopped = await client().stopDockerContainer({ container: container.id });
    assert.equal(stopped.container?.state, ContainerState.EXITED);
    assert.equal(stopped.container?.exitCode, 5);
    assert.equal(server.engine.inspect(container.id), undefined, "the engine removed it");
  });

  it("waits for the exit code the container ends with", async () => {
    const container = await run();
    const waiting = client().waitDockerContainer({ container: container.name });
    assert.ok(await eventually(() => server.engine.calls.waitContainer > 0));
    server.engine.exit(container.id, 3);
    assert.deepEqual(await waiting.then(({ exitCode, error }) => ({ exitCode, error })), { exitCode: 3, error: "" });
  });

  it("ends a wait at the client's deadline with DEADLINE_EXCEEDED, and aborts the engine's wait", async () => {
    const container = await run();
    const aborted = server.engine.aborted.waitContainer;
    const error = await rpcError(client().waitDockerContainer({ container: container.id }, { timeoutMs: 50 }));
    assert.equal(error.code, Code.DeadlineExceeded);
    assert.ok(await eventually(() => server.engine.aborted.waitContainer === aborted + 1), "the engine wait was aborted");
    assert.equal(server.engine.inspect(container.id)?.State.Running, true);
  });

  it("restarts a running container: running again, with a later start time", async () => {
    const container = await run();
    const restarted = await client().restartDockerContainer({ container: container.id, timeoutSeconds: 0 });
    assert.equal(restarted.container?.state, ContainerState.RUNNING);
    assert.ok(restarted.container!.startedAt!.seconds >= container.startedAt!.seconds);
    assert.notDeepEqual(restarted.container!.startedAt, container.startedAt);
  });

  it("starts a stopped container again", async () => {
    const container = await run();
    await client().stopDockerContainer({ container: container.id });
    const started = await client().startDockerContainer({ container: container.id });
    assert.equal(started.alreadyRunning, false);
    assert.equal(started.container?.state, ContainerState.RUNNING);
  });

  it("refuses to start a container with a writable bind mount an older Osiris made, with FAILED_PRECONDITION", async () => {
    server.engine.addContainer({ name: "old-bind", labels: managed, mounts: [{ Type: "bind", Source: "/srv/data", Destination: "/data", RW: true }] });
    const error = await rpcError(client().startDockerContainer({ container: "old-bind" }));
    assert.equal(error.code, Code.FailedPrecondition);
    assert.match(error.rawMessage, /writable bind mount of "\/srv\/data"/);
  });

  it("removes a running container with force, and reports not_found with ignore_not_found", async () => {
    const container = await run({ name: "removed" });
    const removed = await client().removeDockerContainer({ container: "removed", force: true });
    assert.deepEqual([removed.id, removed.notFound], [container.id, false]);
    assert.equal(server.engine.inspect(container.id), undefined);
    const again = await client().removeDockerContainer({ container: "removed", ignoreNotFound: true });
    assert.deepEqual([again.id, again.notFound], ["", true]);
  });
});

describe("StreamDockerContainerLogs over the real router, on a fake engine", () => {
  let server: FastServer;
  before(async () => {
    server = await startFastServer();
  });
  after(() => server.close());

  const text = (data: Uint8Array) => Buffer.from(data).toString();

  it("streams stdout and stderr apart, in order, and only the stream asked for", async () => {
    const id = server.engine.addContainer({ name: "chatty", labels: managed, state: "running" });
    server.engine.writeLogs(id, "stdout", "one\ntwo\n");
    server.engine.writeLogs(id, "stderr", "oops\n");
    server.engine.writeLogs(id, "stdout", "three\n");
    const all = await collect(server.client("grpc").streamDockerContainerLogs({ container: "chatty" }));
    assert.deepEqual(
      all.map((message) => [message.stream, text(message.data)]),
      [
        [1, "one\ntwo\n"],
        [2, "oops\n"],
        [1, "three\n"],
      ],
    );
    const errors = await collect(server.client("connect-json").streamDockerContainerLogs({ container: "chatty", stderr: true }));
    assert.deepEqual(errors.map((message) => text(message.data)).join(""), "oops\n");
  });

  it("gives each line its time when timestamps are asked for, and only the last lines with tail_lines", async () => {
    const id = server.engine.addContainer({ name: "timed", labels: managed, state: "running" });
    server.engine.writeLogs(id, "stdout", "a\nb\nc\n");
    const lines = await collect(server.client("grpc-web").streamDockerContainerLogs({ container: "timed", timestamps: true, tailLines: 2 }));
    assert.deepEqual(lines.map((line) => text(line.data)), ["b\n", "c\n"]);
    assert.ok(lines.every((line) => line.timestamp !== undefined && line.timestamp.seconds > 0n));
  });

  it("follows new output until the container exits", async () => {
    const id = server.engine.addContainer({ name: "followed", labels: managed, state: "running" });
    server.engine.writeLogs(id, "stdout", "before\n");
    const seen: string[] = [];
    const following = (async () => {
      for await (const message of server.client("grpc").streamDockerContainerLogs({ container: "followed", follow: true })) {
        seen.push(text(message.data));
        if (seen.length === 1) server.engine.writeLogs(id, "stdout", "after\n");
        if (seen.length === 2) server.engine.exit(id, 0);
      }
    })();
    await following;
    assert.deepEqual(seen, ["before\n", "after\n"]);
  });

  it("answers NOT_FOUND for logs of an unmanaged container, and UNAVAILABLE when the engine is down", async () => {
    server.engine.addContainer({ name: "cli-logs", state: "running" });
    assert.equal((await streamError(server.client("grpc").streamDockerContainerLogs({ container: "cli-logs" }))).code, Code.NotFound);
    server.engine.down();
    try {
      assert.equal((await streamError(server.client("grpc").streamDockerContainerLogs({ container: "chatty" }))).code, Code.Unavailable);
    } finally {
      server.engine.up();
    }
  });
});

describe("WatchDockerEvents over the real router, on a fake engine", () => {
  let server: FastServer;
  before(async () => {
    server = await startFastServer();
  });
  after(() => server.close());

  /** Watches until `count` events arrived, doing `act` once the watch is open. */
  async function watcherCount(): Promise<number> {
    const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
    return Number(/^osiris_event_watchers (\d+)$/m.exec(text)?.[1]);
  }

  async function watch(
    request: Parameters<ReturnType<FastServer["client"]>["watchDockerEvents"]>[0],
    count: number,
    act: () => Promise<void> | void,
  ): Promise<WatchDockerEventsResponse[]> {
    const events: WatchDockerEventsResponse[] = [];
    const done = new AbortController();
    // One engine subscription, the container cache's, serves every watch.
    assert.ok(await eventually(async () => (await watcherCount()) === 0), "earlier watches have left");
    const reading = (async () => {
      try {
        for await (const event of server.client("grpc").watchDockerEvents(request, { signal: done.signal, timeoutMs: 5000 })) {
          events.push(event);
          if (events.length === count) done.abort();
        }
      } catch (error) {
        if (!done.signal.aborted) throw error;
      }
    })();
    assert.ok(await eventually(async () => (await watcherCount()) === 1), "the watch is registered");
    assert.equal(server.engine.openEventStreams, 1, "and shares the one engine subscription");
    await act();
    await reading;
    return events;
  }

  it("reports a managed container's start and death with its labels and exit code, and nothing of unmanaged ones", async () => {
    const events = await watch({ types: [EventType.STARTED, EventType.DIED] }, 2, async () => {
      server.engine.addContainer({ name: "cli-made", state: "running" });
      const { container } = await server.client("grpc").runDockerContainer({ image: testImage, name: "watched", labels: { app: "web" } });
      server.engine.exit(container!.id, 7);
    });
    assert.deepEqual(
      events.map((event) => [event.type, event.containerName, event.labels.app, event.exitCode]),
      [
        [EventType.STARTED, "watched", "web", 0],
        [EventType.DIED, "watched", "web", 7],
      ],
    );
  });

  it("filters by container name", async () => {
    const events = await watch({ container: "second" }, 2, () => {
      server.engine.addContainer({ name: "first", labels: managed });
      server.engine.addContainer({ name: "second", labels: managed });
      server.engine.addContainer({ name: "second-b", labels: managed });
      server.engine.emitEvent("second", "die", { exitCode: "1" });
    });
    assert.deepEqual(
      events.map((event) => [event.type, event.containerName]),
      [
        [EventType.CREATED, "second"],
        [EventType.DIED, "second"],
      ],
    );
  });

  it("filters by label selector, a key alone matching any value", async () => {
    const events = await watch({ labelSelector: { tier: "" }, types: [EventType.CREATED] }, 2, () => {
      server.engine.addContainer({ name: "no-tier", labels: managed });
      server.engine.addContainer({ name: "tier-a", labels: { ...managed, tier: "a" } });
      server.engine.addContainer({ name: "cli-tier", labels: { tier: "c" } });
      server.engine.addContainer({ name: "tier-b", labels: { ...managed, tier: "b" } });
    });
    assert.deepEqual(events.map((event) => event.containerName), ["tier-a", "tier-b"]);
  });

  it("ends a watch opened while the engine is down with UNAVAILABLE", async () => {
    server.engine.down();
    try {
      const error = await streamError(server.client("grpc").watchDockerEvents({}, { timeoutMs: 5000 }));
      assert.equal(error.code, Code.Unavailable);
    } finally {
      server.engine.up();
    }
  });
});

describe("PullDockerImage over the real router, on a fake engine", () => {
  let server: FastServer;
  before(async () => {
    server = await startFastServer();
  });
  after(() => server.close());

  it("streams the engine's progress, then the image id and digest, and the image is then local", async () => {
    server.engine.publish("127.0.0.1:5000/team/app:2.0");
    const messages = await collect(server.client("grpc-web").pullDockerImage({ image: "127.0.0.1:5000/team/app:2.0" }));
    const last = messages.at(-1)!;
    assert.equal(last.update.case, "image");
    assert.match(last.update.case === "image" ? last.update.value.imageId : "", /^sha256:[0-9a-f]{64}$/);
    assert.match(last.update.case === "image" ? last.update.value.digest : "", /^sha256:[0-9a-f]{64}$/);
    const downloading = messages.find((message) => message.update.case === "progress" && message.update.value.status === "Downloading");
    assert.deepEqual(downloading?.update.case === "progress" ? [downloading.update.value.current, downloading.update.value.total] : [], [512n, 1024n]);
    assert.ok(server.engine.hasImage("127.0.0.1:5000/team/app:2.0"));
  });

  const failures: [string, { httpError?: { statusCode: number; message: string }; streamError?: string }, Code][] = [
    ["a registry that wants credentials", { httpError: { statusCode: 500, message: 'Head "http://127.0.0.1:5001/v2/team/app/manifests/1": no basic auth credentials' } }, Code.Unauthenticated],
    ["a registry that denies access", { streamError: "denied: requested access to the resource is denied" }, Code.PermissionDenied],
    ["a registry that cannot be reached", { httpError: { statusCode: 500, message: 'Get "http://127.0.0.1:5999/v2/": dial tcp 127.0.0.1:5999: connect: connection refused' } }, Code.Unavailable],
    ["a manifest the registry reports missing mid-stream", { streamError: "manifest for 127.0.0.1:5000/team/app:1 not found: manifest unknown: manifest unknown" }, Code.NotFound],
  ];
  for (const [what, script, code] of failures) {
    it(`answers ${Code[code]} for ${what}, never success`, async () => {
      server.engine.scriptPull("127.0.0.1:5000/team/app:1", script);
      const error = await streamError(server.client("grpc").pullDockerImage({ image: "127.0.0.1:5000/team/app:1" }));
      assert.equal(error.code, code, error.message);
      assert.equal(server.engine.hasImage("127.0.0.1:5000/team/app:1"), false);
    });
  }

  it("answers UNAUTHENTICATED for wrong registry credentials, and pulls with the right ones", async () => {
    server.engine.publish("127.0.0.1:5001/private/app:1", { username: "osiris", password: "right-password" });
    const wrong = await streamError(
      server.client("grpc").pullDockerImage({ image: "127.0.0.1:5001/private/app:1", registryAuth: { username: "osiris", password: "wrong" } }),
    );
    assert.equal(wrong.code, Code.Unauthenticated);
    await collect(server.client("grpc").pullDockerImage({ image: "127.0.0.1:5001/private/app:1", registryAuth: { username: "osiris", password: "right-password" } }));
    assert.ok(server.engine.hasImage("127.0.0.1:5001/private/app:1"));
  });
});
