import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import Docker from "dockerode";
import { ContainerState } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { ThrowawayEngine } from "../support/engine-control.js";
import { eventually, exitsOnSigint, newTestRun, removeTestContainers, testImage } from "../support/engine-fixtures.js";
import { metric } from "../support/server-metrics.js";
import { protocols, startTestServer, type TestServer } from "../support/test-server.js";

const managedLabel = "io.osiris.managed";

async function metrics(server: TestServer): Promise<string> {
  return (await fetch(`${server.baseUrl}/metrics`)).text();
}

function sample(text: string, name: string, labels = ""): number {
  const escaped = `${name}${labels}`.replace(/[{}()|[\]\\/.+*?^$]/g, "\\$&");
  return Number(new RegExp(`^${escaped} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
}

/** Engine calls Osiris made, by operation, from osiris_engine_call_duration_seconds. */
async function engineCalls(server: TestServer, operation: string): Promise<number> {
  const text = await metrics(server);
  return ["ok", "error"].reduce(
    (sum, outcome) => sum + sample(text, "osiris_engine_call_duration_seconds_count", `{operation="${operation}",outcome="${outcome}"}`),
    0,
  );
}

async function cacheServing(server: TestServer): Promise<boolean> {
  return eventually(async () => (await metric(server.baseUrl, "osiris_container_cache_serving")) === 1, 30_000);
}

async function stateOf(server: TestServer, container: string): Promise<ContainerState | "absent"> {
  try {
    return (await server.client("grpc").getDockerContainer({ container })).container?.state ?? ContainerState.UNSPECIFIED;
  } catch (error) {
    if (ConnectError.from(error).code === Code.NotFound) return "absent";
    throw error;
  }
}

describe("the container cache on a real engine", () => {
  const run = newTestRun();
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    assert.ok(await cacheServing(server), "the cache serves");
  });
  after(async () => {
    await server.close();
    await removeTestContainers(run.id);
  });

  for (const protocol of protocols) {
    it(`shows what each mutating RPC returned to the next Get and List at once (${protocol})`, async () => {
      const client = server.client(protocol);
      const name = run.name(`ryw-${protocol}`);
      const listed = async () =>
        (await client.listDockerContainers({ all: true, labelSelector: { "osiris-test.run": run.id }, pageSize: 1000 })).containers.find((c) => c.name === name)?.state;
      const { container } = await client.runDockerContainer({ image: testImage, name, command: exitsOnSigint(0), labels: run.labels });
      assert.equal((await client.getDockerContainer({ container: name })).container?.state, ContainerState.RUNNING, "after Run");
      assert.equal(await listed(), ContainerState.RUNNING);
      await client.stopDockerContainer({ container: name, timeoutSeconds: 0 });
      assert.equal((await client.getDockerContainer({ container: name })).container?.state, ContainerState.EXITED, "after Stop");
      assert.equal(await listed(), ContainerState.EXITED);
      await client.startDockerContainer({ container: name });
      assert.equal((await client.getDockerContainer({ container: container!.id })).container?.state, ContainerState.RUNNING, "after Start");
      const restarted = await client.restartDockerContainer({ container: name, timeoutSeconds: 0 });
      const afterRestart = (await client.getDockerContainer({ container: name })).container;
      assert.equal(afterRestart?.state, ContainerState.RUNNING, "after Restart");
      assert.deepEqual(afterRestart?.startedAt, restarted.container?.startedAt, "with the restart's start time");
      await client.removeDockerContainer({ container: name, force: true });
      assert.equal(await stateOf(server, name), "absent", "after Remove");
      assert.equal(await listed(), undefined);
    });
  }

  it("sees a docker stop and a docker rm from the CLI within 2 s", async () => {
    const name = run.name("cli");
    await server.client("grpc").runDockerContainer({ image: testImage, name, command: exitsOnSigint(0), labels: run.labels });
    execFileSync("docker", ["stop", "-t", "0", name], { stdio: "ignore" });
    assert.ok(await eventually(async () => (await stateOf(server, name)) === ContainerState.EXITED, 2000), "stop seen");
    execFileSync("docker", ["rm", name], { stdio: "ignore" });
    assert.ok(await eventually(async () => (await stateOf(server, name)) === "absent", 2000), "rm seen");
  });

  it("relists when the engine sends an event line too long to read, and so misses nothing", async () => {
    const relists = (await metric(server.baseUrl, "osiris_container_cache_relists_total"));
    const name = run.name("huge-labels");
    // Over the hub's 1 MiB bound on one event line: the hub skips the line and tells the cache.
    const ballast = Object.fromEntries(Array.from({ length: 24 }, (_, i) => [`osiris-test.ballast-${i}`, "x".repeat(48 * 1024)]));
    const labelFile = join(mkdtempSync(join(tmpdir(), "osiris-labels-")), "labels");
    writeFileSync(labelFile, Object.entries(ballast).map(([key, value]) => `${key}=${value}\n`).join(""));
    const runLabels = Object.entries({ ...run.labels, [managedLabel]: "true" }).flatMap(([key, value]) => ["--label", `${key}=${value}`]);
    execFileSync("docker", ["create", "--name", name, "--label-file", labelFile, ...runLabels, testImage, "true"], { stdio: "ignore" });
    assert.ok(await eventually(async () => (await stateOf(server, name)) === ContainerState.CREATED, 10_000), "seen through the relist");
    assert.ok(await eventually(async () => (await metric(server.baseUrl, "osiris_container_cache_relists_total")) > relists), "a relist ran");
  });
});

// A second dockerd, restarted under the server: the main engine's other users are left alone.
describe("the container cache across a dockerd restart (on a throwaway dockerd)", () => {
  const run = newTestRun();
  const engine = new ThrowawayEngine();
  let server: TestServer;
  let throwaway: Docker;
  before(async () => {
    await engine.start();
    throwaway = engine.docker;
    server = await startTestServer(engine.endpoint);
    // Its own engine: no other test's events make the cache inspect while calls are counted.
    assert.ok(await cacheServing(server), "the cache serves");
  });
  after(async () => {
    await server.close();
    await engine.destroy();
  });

  const managed = () => ({ ...run.labels, [managedLabel]: "true" });

  it("answers Get and List without any engine call in steady state", async () => {
    const name = run.name("steady");
    await server.client("grpc").runDockerContainer({ image: testImage, name, command: exitsOnSigint(0), labels: run.labels });
    await new Promise((resolve) => setTimeout(resolve, 300)); // the start event's inspect, if any, is the cache's
    const inspects = await engineCalls(server, "GET /containers/{id}/json");
    const lists = await engineCalls(server, "GET /containers/json");
    for (let i = 0; i < 50; i++) {
      const client = server.client(protocols[i % 3]!);
      assert.equal((await client.getDockerContainer({ container: name })).container?.name, name);
      assert.ok((await client.listDockerContainers({ all: true, pageSize: 1000 })).containers.some((c) => c.name === name));
    }
    assert.equal(await engineCalls(server, "GET /containers/{id}/json"), inspects, "no inspect");
    assert.equal(await engineCalls(server, "GET /containers/json"), lists, "no list");
  });

  it("costs a Stop by name what docker stop costs the engine: the stop and one inspect", async () => {
    const name = run.name("stop-cost");
    await server.client("grpc").runDockerContainer({ image: testImage, name, command: exitsOnSigint(0), labels: run.labels });
    await new Promise((resolve) => setTimeout(resolve, 300)); // the start event's own inspect, which is the cache's, not the Stop's
    const inspects = await engineCalls(server, "GET /containers/{id}/json");
    const stops = await engineCalls(server, "POST /containers/{id}/stop");
    await server.client("grpc").stopDockerContainer({ container: name, timeoutSeconds: 0 });
    assert.equal((await engineCalls(server, "POST /containers/{id}/stop")) - stops, 1);
    await new Promise((resolve) => setTimeout(resolve, 300)); // any inspect the die and stop events still cause
    // The Stop's own inspect, and at most one of the cache's, when the events arrived after the Stop asked.
    const inspected = (await engineCalls(server, "GET /containers/{id}/json")) - inspects;
    assert.ok(inspected <= 2, `${inspected} inspects`);
  });

  it("lists 1,000 containers in pages over the three protocols, from memory, as the engine holds them", async () => {
    const labels = { ...managed(), "osiris-test.thousand": "yes" };
    const made: string[] = [];
    for (let i = 0; i < 1000; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: 20 }, (_, j) => throwaway.createContainer({ name: run.name(`k-${i + j}`), Image: testImage, Cmd: ["true"], Labels: labels })),
      );
      made.push(...batch.map((container) => container.id));
    }
    const selector = { "osiris-test.thousand": "yes" };
    const client = server.client("grpc");
    assert.ok(
      await eventually(async () => (await client.listDockerContainers({ all: true, labelSelector: selector, pageSize: 1000 })).containers.length === 1000, 60_000),
      "all 1,000 are in the cache",
    );
    const lists = await engineCalls(server, "GET /containers/json");
    const inspects = await engineCalls(server, "GET /containers/{id}/json");
    const seen: string[] = [];
    let token = "";
    let pages = 0;
    do {
      const page = await server.client(protocols[pages % 3]!).listDockerContainers({ all: true, labelSelector: selector, pageSize: 100, pageToken: token });
      seen.push(...page.containers.map((c) => c.id));
      assert.ok(page.containers.every((c) => c.state === ContainerState.CREATED));
      token = page.nextPageToken;
      pages++;
    } while (token !== "" && pages < 20);
    assert.equal(pages, 10);
    assert.equal(new Set(seen).size, 1000, "no container twice");
    assert.deepEqual([...seen].sort(), [...made].sort(), "exactly the engine's");
    assert.equal(await engineCalls(server, "GET /containers/json"), lists, "no engine list");
    assert.equal(await engineCalls(server, "GET /containers/{id}/json"), inspects, "no engine inspect");
    const engineOrder = (await throwaway.listContainers({ all: true, filters: { label: ["osiris-test.thousand=yes"] } }))
      .sort((a, b) => b.Created - a.Created || (a.Id < b.Id ? -1 : 1))
      .map((c) => c.Id);
    assert.deepEqual(seen, engineOrder, "newest first, then by id, as the engine path orders them");
    for (let i = 0; i < made.length; i += 20) {
      await Promise.all(made.slice(i, i + 20).map((id) => throwaway.getContainer(id).remove({ force: true })));
    }
  });

  it("relists after the engine comes back: what was made meanwhile appears, what was removed disappears", async () => {
    const kept = await throwaway.createContainer({ name: run.name("kept"), Image: testImage, Cmd: ["true"], Labels: managed() });
    const doomed = await throwaway.createContainer({ name: run.name("doomed"), Image: testImage, Cmd: ["true"], Labels: managed() });
    assert.ok(await eventually(async () => (await stateOf(server, run.name("doomed"))) === ContainerState.CREATED), "known before");
    const relists = (await metric(server.baseUrl, "osiris_container_cache_relists_total"));

    await engine.stop();
    // A dying dockerd may hold its event stream open a moment after it stops answering; the ping notices within about 2 s.
    assert.ok(await eventually(async () => (await metric(server.baseUrl, "osiris_container_cache_serving")) === 0, 5000), "the cache stops serving");
    assert.equal(
      ConnectError.from(await server.client("grpc").getDockerContainer({ container: run.name("kept") }).catch((error: unknown) => error)).code,
      Code.Unavailable,
      "no stale answer while the engine is away",
    );
    await engine.start();
    // Made and removed before Osiris's event stream is back, or just after: either way only a relist or replay tells.
    await doomed.remove({ force: true });
    await throwaway.createContainer({ name: run.name("born"), Image: testImage, Cmd: ["true"], Labels: managed() });

    assert.ok(await eventually(async () => (await metric(server.baseUrl, "osiris_container_cache_relists_total")) > relists, 30_000), "relisted");
    assert.ok(await eventually(async () => (await stateOf(server, run.name("born"))) === ContainerState.CREATED), "made meanwhile: there");
    assert.ok(await eventually(async () => (await stateOf(server, run.name("doomed"))) === "absent"), "removed meanwhile: gone");
    assert.equal(await stateOf(server, run.name("kept")), ContainerState.CREATED);
    await kept.remove({ force: true });
  });
});
