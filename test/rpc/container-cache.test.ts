import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { ContainerState, ReadConsistency } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { FakeEngine } from "../support/fake-engine.js";
import { protocols, startFastServer, type FastServer } from "../support/fast-server.js";
import { eventually, rpcError, testImage } from "./expectations.js";

const managed = { "io.osiris.managed": "true" };

async function cacheMetric(server: FastServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
  return Number(new RegExp(`^osiris_container_cache_${name} (\\S+)$`, "m").exec(text)?.[1]);
}

describe("the container cache answers reads from memory, kept current by the engine's events", () => {
  let server: FastServer;
  before(async () => {
    server = await startFastServer();
  });
  after(() => server.close());
  const client = () => server.client("grpc");

  it("answers Get and List of known containers with no engine call at all", async () => {
    const id = server.engine.addContainer({ name: "steady", labels: managed, state: "running" });
    assert.ok(await eventually(async () => (await client().getDockerContainer({ container: "steady" })).container?.state === ContainerState.RUNNING));
    await server.cacheSettled();
    for (let i = 0; i < 20; i++) {
      assert.equal((await client().getDockerContainer({ container: "steady" })).container?.id, id);
      assert.ok((await client().listDockerContainers({ all: true })).containers.some((c) => c.id === id));
    }
    assert.equal(server.engine.calls.inspectContainer, 0, "no inspect");
    assert.equal(server.engine.calls.listContainers, 0, "no list");
  });

  it("asks the engine for an id prefix, whose uniqueness only the engine knows", async () => {
    const id = server.engine.addContainer({ name: "by-prefix", labels: managed, state: "running" });
    await server.cacheSettled();
    assert.equal((await client().getDockerContainer({ container: id.slice(0, 12) })).container?.name, "by-prefix");
    assert.equal(server.engine.calls.inspectContainer, 1);
  });

  it("makes what Run, Stop, Start, Restart and Remove returned visible to the very next Get and List", async () => {
    const c = client();
    const { container } = await c.runDockerContainer({ image: testImage, name: "ryw" });
    const id = container!.id;
    assert.equal((await c.getDockerContainer({ container: "ryw" })).container?.state, ContainerState.RUNNING);
    await c.stopDockerContainer({ container: "ryw", timeoutSeconds: 0 });
    assert.equal((await c.getDockerContainer({ container: "ryw" })).container?.state, ContainerState.EXITED);
    assert.equal((await c.listDockerContainers({ all: false })).containers.some((x) => x.id === id), false, "not among running ones");
    await c.startDockerContainer({ container: "ryw" });
    assert.equal((await c.getDockerContainer({ container: id })).container?.state, ContainerState.RUNNING);
    const restarted = await c.restartDockerContainer({ container: "ryw", timeoutSeconds: 0 });
    assert.deepEqual((await c.getDockerContainer({ container: "ryw" })).container?.startedAt, restarted.container?.startedAt);
    await c.removeDockerContainer({ container: "ryw", force: true });
    assert.equal((await rpcError(c.getDockerContainer({ container: "ryw" }))).code, Code.NotFound);
    assert.equal((await c.listDockerContainers({ all: true })).containers.some((x) => x.id === id), false);
  });

  it("sees a container that exits on its own, one made and one removed behind Osiris's back", async () => {
    const id = server.engine.addContainer({ name: "behind", labels: managed, state: "running" });
    assert.ok(await eventually(async () => (await client().listDockerContainers({ all: true })).containers.some((x) => x.id === id)), "made elsewhere");
    server.engine.exit(id, 3);
    assert.ok(
      await eventually(async () => {
        const seen = (await client().getDockerContainer({ container: "behind" })).container;
        return seen?.state === ContainerState.EXITED && seen.exitCode === 3;
      }),
      "exited on its own",
    );
    await server.engine.removeContainer(id, { force: true, removeVolumes: false });
    assert.ok(await eventually(async () => !(await client().listDockerContainers({ all: true })).containers.some((x) => x.id === id)), "removed elsewhere");
  });

  it("asks the engine for a fresh inspect when the caller asks for READ_CONSISTENCY_FRESH", async () => {
    server.engine.addContainer({ name: "fresh", labels: managed, state: "running" });
    assert.ok(await eventually(async () => (await client().getDockerContainer({ container: "fresh" })).container !== undefined));
    await server.cacheSettled();
    await client().getDockerContainer({ container: "fresh", consistency: ReadConsistency.FRESH });
    assert.equal(server.engine.calls.inspectContainer, 1);
  });

  it("never holds a container out of scope, and answers NOT_FOUND for it as the engine path does", async () => {
    server.engine.addContainer({ name: "unmanaged-one", state: "running" });
    await server.cacheSettled();
    assert.equal((await rpcError(client().getDockerContainer({ container: "unmanaged-one" }))).code, Code.NotFound);
    assert.equal((await client().listDockerContainers({ all: true })).containers.some((x) => x.name === "unmanaged-one"), false);
  });

  it("stops serving while the engine is down (UNAVAILABLE, never stale), and relists once it is back", async () => {
    const relists = await cacheMetric(server, "relists_total");
    server.engine.down();
    try {
      assert.ok(await eventually(async () => (await cacheMetric(server, "serving")) === 0), "not serving");
      assert.equal((await rpcError(client().getDockerContainer({ container: "fresh" }))).code, Code.Unavailable);
      assert.equal((await rpcError(client().listDockerContainers({ all: true }))).code, Code.Unavailable);
    } finally {
      server.engine.up();
    }
    assert.ok(await eventually(async () => (await cacheMetric(server, "serving")) === 1, 10_000), "serving again");
    assert.ok((await cacheMetric(server, "relists_total")) > relists, "after a relist");
    assert.equal((await client().getDockerContainer({ container: "fresh" })).container?.state, ContainerState.RUNNING);
  });
});

describe("List from memory pages exactly as the engine path does", () => {
  const engine = new FakeEngine();
  let cached: FastServer;
  let uncached: FastServer;
  before(async () => {
    const base = Date.parse("2026-01-01T00:00:00Z");
    // 1,000 containers over 50 seconds of creation times, so many share a second and order falls to the id.
    for (let i = 0; i < 1000; i++) {
      engine.addContainer({ name: `many-${i}`, labels: { ...managed, tier: i % 2 ? "odd" : "even" }, created: new Date(base + Math.floor(i / 20) * 1000), state: i % 3 ? "exited" : "running" });
    }
    cached = await startFastServer({ engine });
    uncached = await startFastServer({ engine, env: { OSIRIS_CONTAINER_CACHE: "off" } });
    await cached.cacheSettled();
  });
  after(async () => {
    await cached.close();
    await uncached.close();
  });

  async function pages(server: FastServer, request: { all?: boolean; labelSelector?: Record<string, string>; pageSize: number; namePrefix?: string }) {
    const seen: string[][] = [];
    let token = "";
    for (let page = 0; page < 200; page++) {
      const protocol = protocols[page % protocols.length]!;
      const answer = await server.client(protocol).listDockerContainers({ ...request, pageToken: token });
      seen.push(answer.containers.map((c) => `${c.id}:${c.state}:${c.exitCode}`));
      token = answer.nextPageToken;
      if (token === "") break;
    }
    return seen;
  }

  it("lists 1,000 containers in pages across the three protocols, touching no engine, as the engine path would", async () => {
    cached.engine.resetCalls();
    const fromMemory = await pages(cached, { all: true, pageSize: 100 });
    assert.equal(cached.engine.calls.listContainers + cached.engine.calls.inspectContainer, 0, "no engine call");
    assert.equal(fromMemory.flat().length, 1000);
    assert.deepEqual(fromMemory, await pages(uncached, { all: true, pageSize: 100 }));
  });

  it("filters by label, state and name prefix as the engine does", async () => {
    for (const request of [
      { all: false, pageSize: 1000 },
      { all: true, labelSelector: { tier: "odd" }, pageSize: 70 },
      { all: true, namePrefix: "many-1", pageSize: 33 },
    ]) {
      assert.deepEqual(await pages(cached, request), await pages(uncached, request), JSON.stringify(request));
    }
    const running = await cached.client("grpc").listDockerContainers({ states: [ContainerState.RUNNING], pageSize: 1000 });
    assert.deepEqual(
      running.containers.map((c) => c.id),
      (await uncached.client("grpc").listDockerContainers({ states: [ContainerState.RUNNING], pageSize: 1000 })).containers.map((c) => c.id),
    );
  });
});
