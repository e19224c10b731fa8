import assert from "node:assert/strict";
import type { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ContainerState, DockerService } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { managedLabel } from "../../server/containers/grammar/labels.js";
import {
  containerExists,
  docker,
  eventually,
  exitsOnSigint,
  newTestRun,
  removeTestContainers,
  testContainerIds,
  testImage,
  testRunLabel,
} from "../support/engine-fixtures.js";
import { rpcError } from "../support/rpc-assertions.js";
import { startServerProcess } from "../support/server-process.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

/** Settles every call, keeping which succeeded with what. */
async function settle<T>(calls: Promise<T>[]): Promise<{ ok: T[]; failed: ConnectError[] }> {
  const results = await Promise.allSettled(calls);
  return {
    ok: results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : [])),
    failed: results.flatMap((r) => (r.status === "rejected" ? [ConnectError.from(r.reason)] : [])),
  };
}

describe("safe retries with request_id, and races", () => {
  const run = newTestRun();
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server.close();
  });

  const request = (requestId: string, env: Record<string, string> = { A: "1", B: "2" }) => ({
    image: testImage,
    command: exitsOnSigint(0),
    labels: run.labels,
    env,
    requestId,
  });

  it("returns the same container to a retry with the same request_id and request, whatever the map order", async () => {
    const client = server.client("grpc");
    const first = await client.runDockerContainer(request(`retry-${run.id}`, { A: "1", B: "2" }));
    const retry = await server.client("connect-json").runDockerContainer(request(`retry-${run.id}`, { B: "2", A: "1" }));
    assert.equal(retry.container?.id, first.container?.id);
    assert.equal(retry.container?.state, ContainerState.RUNNING);
    assert.equal((await testContainerIds(run.id)).length, 1);
  });

  it("answers FAILED_PRECONDITION when the request_id comes with a different request", async () => {
    const client = server.client("grpc");
    await client.runDockerContainer(request(`reused-${run.id}`));
    const error = await rpcError(client.runDockerContainer(request(`reused-${run.id}`, { A: "other" })));
    assert.equal(error.code, Code.FailedPrecondition);
    assert.match(error.rawMessage, /already used for a different request/);
  });

  it("gives 10 clients racing with one request_id the same single container", async () => {
    const requestId = `race-${run.id}`;
    const { ok, failed } = await settle(
      Array.from({ length: 10 }, (_, i) => server.client(i % 2 ? "grpc" : "grpc-web").runDockerContainer(request(requestId))),
    );
    assert.deepEqual(failed, []);
    assert.equal(new Set(ok.map((r) => r.container?.id)).size, 1);
    const labelled = await docker.listContainers({ all: true, filters: { label: [`io.osiris.request-id=${requestId}`] } });
    assert.equal(labelled.length, 1);
  });

  it("lets exactly one of 10 clients racing for one name win; the others get ALREADY_EXISTS", async () => {
    const name = run.name("contested");
    const { ok, failed } = await settle(
      Array.from({ length: 10 }, () =>
        server.client("grpc").runDockerContainer({ image: testImage, name, command: exitsOnSigint(0), labels: run.labels }),
      ),
    );
    assert.equal(ok.length, 1);
    assert.deepEqual(
      failed.map((e) => e.code),
      Array(9).fill(Code.AlreadyExists),
    );
  });
});

describe("cancellation at random moments", () => {
  const run = newTestRun();
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server.close();
  });

  it("leaves exactly the containers whose Run returned OK, after 100 Runs cancelled between 0 and the typical run time", async () => {
    const client = server.client("grpc");
    const batchSize = 10;
    // The typical run time at the same concurrency as the cancelled batches.
    const durations = await Promise.all(
      Array.from({ length: batchSize }, async () => {
        const started = performance.now();
        const { container } = await client.runDockerContainer({ image: testImage, command: exitsOnSigint(0), labels: run.labels });
        await docker.getContainer(container!.id).remove({ force: true });
        return performance.now() - started;
      }),
    );
    const typicalMs = durations.sort((a, b) => a - b)[batchSize / 2]!;

    // A fixed-seed generator keeps the moments the same from run to run.
    let seed = 20261128;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const succeeded = new Set<string>();
    const codes = new Map<string, number>();
    for (let batch = 0; batch < 100 / batchSize; batch++) {
      await Promise.all(
        Array.from({ length: batchSize }, async () => {
          const controller = new AbortController();
          setTimeout(() => controller.abort(), random() * typicalMs);
          try {
            const { container } = await client.runDockerContainer(
              { image: testImage, command: exitsOnSigint(0), labels: run.labels },
              { signal: controller.signal },
            );
            succeeded.add(container!.id);
            codes.set("OK", (codes.get("OK") ?? 0) + 1);
          } catch (error) {
            const name = Code[ConnectError.from(error).code];
            codes.set(name, (codes.get(name) ?? 0) + 1);
          }
        }),
      );
    }
    console.log(`100 cancelled runs (typical run ${typicalMs.toFixed(0)} ms): ${JSON.stringify(Object.fromEntries(codes))}`);
    assert.deepEqual([...codes.keys()].filter((code) => code !== "OK" && code !== "Canceled"), []);
    assert.ok((codes.get("OK") ?? 0) > 0 && (codes.get("Canceled") ?? 0) > 0, "cancels land both before and after completion");
    // Rollbacks finish in the background; wait until the engine holds exactly the successes.
    const exact = await eventually(async () => {
      const present = new Set(await testContainerIds(run.id));
      return present.size === succeeded.size && [...succeeded].every((id) => present.has(id));
    }, 30_000);
    assert.ok(exact, `engine has ${(await testContainerIds(run.id)).length} containers, ${succeeded.size} runs succeeded`);
    for (const id of succeeded) assert.equal((await docker.getContainer(id).inspect()).State.Running, true);
  });
});

describe("crash consistency", () => {
  /** Ids of this run's Osiris-made containers still `created`: made by a Run that never started them. */
  const createdIds = async (runId: string) =>
    (await docker.listContainers({ all: true, filters: { label: [`${testRunLabel}=${runId}`, `${managedLabel}=true`], status: ["created"] } }))
      .map((c) => c.Id)
      .sort();

  /**
   * The `created` containers once none is changing any more: a start the
   * killed process sent may still finish on the engine a moment after the kill.
   */
  async function settledCreatedIds(runId: string): Promise<string[]> {
    let seen = await createdIds(runId);
    for (let i = 0; i < 20; i++) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const now = await createdIds(runId);
      if (now.join() === seen.join()) return now;
      seen = now;
    }
    return seen;
  }

  /** Resolves on the stream's first data, or after `ms` should none come. */
  const firstData = (stream: Readable, ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      stream.once("data", () => {
        clearTimeout(timer);
        resolve();
      });
    });

  it("after SIGKILL between a Run's create and start, the next process removes the half-made container once past its age and keeps completed ones", async () => {
    const run = newTestRun();
    try {
      const completed = new Set<string>();
      let halfMade: string[] = [];
      // Killing just after some Run completes leaves nothing half-made: the engine finishes a start the dead
      // process had sent. So the kill goes out as soon as the engine reports the first create of a batch, while the
      // batch's other creates are under way. Where it lands is still up to the scheduler: at most 5 attempts.
      for (let attempt = 1; attempt <= 5 && halfMade.length === 0; attempt++) {
        const first = await startServerProcess();
        let creates: Readable | undefined;
        try {
          const client = createClient(DockerService, createGrpcTransport({ baseUrl: first.url }));
          const runs = (count: number) =>
            Array.from({ length: count }, () => client.runDockerContainer({ image: testImage, command: exitsOnSigint(0), labels: run.labels }));
          for (const { container } of await Promise.all(runs(4))) completed.add(container!.id);
          creates = (await docker.getEvents({
            filters: { type: ["container"], event: ["create"], label: [`${testRunLabel}=${run.id}`] },
          })) as Readable;
          // Settled from the start: the calls fail while the kill is under way.
          const settled = settle(runs(12));
          await firstData(creates, 30_000);
          await first.stop("SIGKILL");
          const { ok } = await settled;
          for (const r of ok) completed.add(r.container!.id);
          console.log(`SIGKILL at the first create of 12 runs, attempt ${attempt}: ${ok.length} of them completed`);
        } finally {
          await first.stop("SIGKILL");
          creates?.destroy();
        }
        halfMade = await settledCreatedIds(run.id);
        console.log(`${halfMade.length} containers left created`);
      }
      assert.ok(halfMade.length > 0, "the SIGKILL landed between a create and its start in one of 5 attempts");

      // Nothing proves the killed process gone (several may share the engine), so only age marks a run abandoned.
      const second = await startServerProcess({ OSIRIS_ABANDONED_RUN_AGE_MS: "2000", OSIRIS_ABANDONED_RUN_SWEEP_MS: "200" });
      try {
        await eventually(async () => (await createdIds(run.id)).length === 0, 30_000);
      } finally {
        await second.stop();
      }
      for (const id of halfMade) assert.equal(await containerExists(id), false, `half-made container ${id} is removed`);
      const left = await docker.listContainers({ all: true, filters: { label: [`${testRunLabel}=${run.id}`] } });
      assert.deepEqual(left.filter((c) => c.State === "created").map((c) => c.Id), [], "no half-made container is left");
      for (const id of completed) assert.equal((await docker.getContainer(id).inspect()).State.Running, true, "completed runs are untouched");
    } finally {
      await removeTestContainers(run.id);
    }
  });
});
