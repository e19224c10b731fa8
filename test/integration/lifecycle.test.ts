import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { ContainerState, HealthStatus, WaitCondition } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import {
  containerExists,
  docker,
  eventually,
  exitsOnSigint,
  newTestRun,
  removeTestContainers,
  testImage,
  testRunLabel,
} from "../support/engine-fixtures.js";
import { rpcError } from "../support/rpc-assertions.js";
import { startTestServer, type ProtocolName, type TestServer } from "../support/test-server.js";

const run = newTestRun();
const healthyImage = "osiris-test/healthcheck:latest";

/** Makes a container the way the docker CLI would: no Osiris label. */
async function createUnmanaged(name: string, extraLabels: Record<string, string> = {}): Promise<string> {
  const container = await docker.createContainer({
    Image: testImage,
    name,
    Cmd: ["true"],
    Labels: { ...run.labels, ...extraLabels },
  });
  return container.id;
}

/** Makes a container as Osiris labels them, without starting it, to fill lists quickly. */
async function createManaged(name: string, extraLabels: Record<string, string> = {}): Promise<string> {
  return createUnmanaged(name, { "io.osiris.managed": "true", ...extraLabels });
}

describe("Get, List, Start, Restart, Remove and Wait against a real engine", () => {
  let server: TestServer;
  let allScope: TestServer;

  before(async () => {
    server = await startTestServer();
    allScope = await startTestServer(undefined, { scope: "all" });
  });
  after(async () => {
    await removeTestContainers(run.id);
    await docker.getImage(healthyImage).remove({ force: true }).catch(() => undefined);
    await server.close();
    await allScope.close();
  });

  describe("GetDockerContainer", () => {
    for (const protocol of ["grpc", "connect-json"] as ProtocolName[]) {
      it(`returns what Run returned, refreshed (${protocol})`, async () => {
        const client = server.client(protocol);
        const { container: ran } = await client.runDockerContainer({
          image: testImage,
          name: run.name(`get-${protocol}`),
          command: exitsOnSigint(0),
          labels: run.labels,
        });
        const { container } = await client.getDockerContainer({ container: run.name(`get-${protocol}`) });
        assert.equal(container?.id, ran?.id);
        assert.equal(container?.state, ContainerState.RUNNING);
        assert.equal(container?.health, HealthStatus.UNSPECIFIED, "no healthcheck, no health");
        const byPrefix = await client.getDockerContainer({ container: ran!.id.slice(0, 12) });
        assert.equal(byPrefix.container?.id, ran?.id);
      });

      it(`answers NOT_FOUND for a missing or unmanaged container (${protocol})`, async () => {
        const client = server.client(protocol);
        const missing = await rpcError(client.getDockerContainer({ container: run.name("absent") }));
        assert.equal(missing.code, Code.NotFound);
        assert.equal(missing.rawMessage, `Container not found: "${run.name("absent")}"`);
        await createUnmanaged(run.name(`cli-${protocol}`));
        const unmanaged = await rpcError(client.getDockerContainer({ container: run.name(`cli-${protocol}`) }));
        assert.equal(unmanaged.code, Code.NotFound);
      });
    }

    it("reports the healthcheck's state when the image defines one", async () => {
      await promisify(execFile)("sh", [
        "-c",
        `printf 'FROM ${testImage}\\nHEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD test -e /tmp/healthy\\n' | docker build -q -t ${healthyImage} -`,
      ]);
      const client = server.client("grpc-web");
      const { container } = await client.runDockerContainer({
        image: healthyImage,
        command: ["sh", "-c", "touch /tmp/healthy; exec sleep 60"],
        labels: run.labels,
      });
      assert.ok(
        await eventually(async () => (await client.getDockerContainer({ container: container!.id })).container?.health === HealthStatus.HEALTHY),
        "the healthcheck passes within 15 s",
      );
      await client.removeDockerContainer({ container: container!.id, force: true });
    });

    it("names the field of a malformed reference", async () => {
      const error = await rpcError(server.client("grpc").getDockerContainer({ container: "" }));
      assert.equal(error.code, Code.InvalidArgument);
      assert.equal(error.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field, "container");
    });
  });

  describe("ListDockerContainers", () => {
    const pagedLabel = { "osiris-test.page": run.id };
    let created: string[] = [];

    /** Until Osiris lists `count` containers matching `labelSelector`: made with dockerode, they reach its cache through the engine's events. */
    async function listedSoon(target: TestServer, labelSelector: Record<string, string>, count: number, managedOnly = true): Promise<void> {
      const client = target.client("grpc");
      assert.ok(
        await eventually(async () => (await client.listDockerContainers({ all: true, labelSelector, pageSize: 1000, managedOnly })).containers.length === count),
        `Osiris lists the ${count} containers made behind its back`,
      );
    }

    before(async () => {
      created = [];
      for (let i = 0; i < 25; i++) created.push(await createManaged(run.name(`page-${String(i).padStart(2, "0")}`), pagedLabel));
      await listedSoon(server, pagedLabel, 25);
    });

    it("pages through 25 containers in a stable order, across protocols, without repeats or gaps", async () => {
      const seen: string[] = [];
      let late = "";
      let token = "";
      const protocolsInTurn: ProtocolName[] = ["connect-json", "grpc-web", "grpc"];
      let pages = 0;
      do {
        const client = server.client(protocolsInTurn[pages % 3]!);
        const page = await client.listDockerContainers({ all: true, labelSelector: pagedLabel, pageSize: 10, pageToken: token });
        assert.ok(page.containers.length <= 10);
        seen.push(...page.containers.map((c) => c.id));
        token = page.nextPageToken;
        pages++;
        if (pages === 1) {
          // A container made between pages must not shift the rest: no repeat, no gap.
          late = await createManaged(run.name("page-late"), pagedLabel);
        }
      } while (token !== "");
      assert.equal(pages, 3);
      assert.equal(new Set(seen).size, seen.length, "no container twice");
      // The newcomer may show up on a later page when it shares the cursor's second; nothing else may.
      assert.deepEqual(seen.filter((id) => id !== late).sort(), [...created].sort());
      await listedSoon(server, pagedLabel, 26);
      const full = await server.client("grpc").listDockerContainers({ all: true, labelSelector: pagedLabel, pageSize: 1000 });
      assert.equal(full.containers.length, 26);
      const times = full.containers.map((c) => c.createdAt!.seconds);
      assert.deepEqual(times, [...times].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)), "newest first");
    });

    it("refuses a token used with other filters, and a token it never issued", async () => {
      const client = server.client("grpc");
      const first = await client.listDockerContainers({ all: true, labelSelector: pagedLabel, pageSize: 5 });
      const otherFilters = await rpcError(
        client.listDockerContainers({ all: true, labelSelector: pagedLabel, namePrefix: "x", pageSize: 5, pageToken: first.nextPageToken }),
      );
      assert.equal(otherFilters.code, Code.InvalidArgument);
      assert.equal(otherFilters.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field, "page_token");
      const forged = await rpcError(client.listDockerContainers({ pageToken: "bm90IGEgdG9rZW4" }));
      assert.equal(forged.code, Code.InvalidArgument);
      const tooBig = await rpcError(client.listDockerContainers({ pageSize: 1001 }));
      assert.equal(tooBig.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field, "page_size");
    });

    it("filters by label selector (value or mere presence), name prefix and state", async () => {
      const client = server.client("connect-json");
      await createManaged(run.name("tier-a"), { "osiris-test.tier": "a" });
      await createManaged(run.name("tier-b"), { "osiris-test.tier": "b" });
      await listedSoon(server, { ...run.labels, "osiris-test.tier": "" }, 2);
      const byValue = await client.listDockerContainers({ all: true, labelSelector: { ...run.labels, "osiris-test.tier": "a" } });
      assert.deepEqual(byValue.containers.map((c) => c.name), [run.name("tier-a")]);
      const byPresence = await client.listDockerContainers({ all: true, labelSelector: { ...run.labels, "osiris-test.tier": "" } });
      assert.deepEqual(byPresence.containers.map((c) => c.name).sort(), [run.name("tier-a"), run.name("tier-b")]);
      const byPrefix = await client.listDockerContainers({ all: true, labelSelector: run.labels, namePrefix: run.name("tier-") });
      assert.equal(byPrefix.containers.length, 2);
      const running = await client.listDockerContainers({ labelSelector: pagedLabel });
      assert.equal(running.containers.length, 0, "without all, only running containers");
      const created = await client.listDockerContainers({ labelSelector: pagedLabel, states: [ContainerState.CREATED], pageSize: 1000 });
      assert.equal(created.containers.length, 26, "a state filter implies all");
      assert.ok(created.containers.every((c) => c.state === ContainerState.CREATED));
    });

    it("hides containers made with the docker CLI unless managed_only is false on an all-scope server", async () => {
      await createUnmanaged(run.name("cli-listed"), { "osiris-test.cli": "yes" });
      const selector = { ...run.labels, "osiris-test.cli": "yes" };
      await listedSoon(allScope, selector, 1, false);
      for (const client of [server.client("grpc"), allScope.client("grpc")]) {
        const managedOnly = await client.listDockerContainers({ all: true, labelSelector: selector });
        assert.equal(managedOnly.containers.length, 0);
      }
      const everything = await allScope.client("grpc-web").listDockerContainers({ all: true, labelSelector: selector, managedOnly: false });
      assert.deepEqual(everything.containers.map((c) => c.name), [run.name("cli-listed")]);
      const refused = await rpcError(server.client("grpc").listDockerContainers({ all: true, managedOnly: false }));
      assert.equal(refused.code, Code.PermissionDenied);
      assert.match(refused.rawMessage, /OSIRIS_SCOPE/);
    });
  });

  describe("StartDockerContainer, RestartDockerContainer, RemoveDockerContainer and WaitDockerContainer", () => {
    for (const protocol of ["grpc", "grpc-web"] as ProtocolName[]) {
      it(`waits for the exit code, starts again, restarts, and removes with and without force (${protocol})`, async () => {
        const client = server.client(protocol);
        const name = run.name(`cycle-${protocol}`);
        const { container } = await client.runDockerContainer({ image: testImage, name, command: ["sh", "-c", "if [ -e /ran ]; then exec sleep 60; fi; touch /ran; exit 3"], labels: run.labels });
        const waited = await client.waitDockerContainer({ container: name });
        assert.deepEqual([waited.exitCode, waited.error], [3, ""]);

        const started = await client.startDockerContainer({ container: name });
        assert.equal(started.container?.state, ContainerState.RUNNING);
        assert.equal(started.alreadyRunning, false);
        const again = await rpcError(client.startDockerContainer({ container: name }));
        assert.equal(again.code, Code.FailedPrecondition);
        assert.equal(again.rawMessage, `Container already running: "${name}"`);
        const ignored = await client.startDockerContainer({ container: name, ignoreAlreadyRunning: true });
        assert.equal(ignored.alreadyRunning, true);

        const restarted = await client.restartDockerContainer({ container: name, timeoutSeconds: 0 });
        assert.equal(restarted.container?.state, ContainerState.RUNNING);
        assert.ok(restarted.container!.startedAt!.seconds >= started.container!.startedAt!.seconds);

        const running = await rpcError(client.removeDockerContainer({ container: name }));
        assert.equal(running.code, Code.FailedPrecondition);
        assert.ok(await containerExists(container!.id), "a refused removal leaves the container");
        const removed = await client.removeDockerContainer({ container: name, force: true });
        assert.deepEqual([removed.id, removed.notFound], [container!.id, false]);
        assert.equal(await containerExists(container!.id), false);

        const gone = await rpcError(client.removeDockerContainer({ container: name }));
        assert.equal(gone.code, Code.NotFound);
        const ignoredGone = await client.removeDockerContainer({ container: name, ignoreNotFound: true });
        assert.deepEqual([ignoredGone.id, ignoredGone.notFound], ["", true]);
      });
    }

    it("removes a stopped container without force", async () => {
      const client = server.client("connect-json");
      const { container } = await client.runDockerContainer({ image: testImage, command: ["true"], labels: run.labels });
      await client.waitDockerContainer({ container: container!.id });
      await client.removeDockerContainer({ container: container!.id });
      assert.equal(await containerExists(container!.id), false);
    });

    it("waits for removal, and ends a wait at the client's deadline with the engine request aborted", async () => {
      const client = server.client("grpc");
      const { container } = await client.runDockerContainer({ image: testImage, command: exitsOnSigint(0), labels: run.labels });
      const started = Date.now();
      const timedOut = await rpcError(client.waitDockerContainer({ container: container!.id }, { timeoutMs: 500 }));
      assert.equal(timedOut.code, Code.DeadlineExceeded);
      assert.ok(Date.now() - started < 5000);
      const removal = client.waitDockerContainer({ container: container!.id, condition: WaitCondition.REMOVED });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await client.removeDockerContainer({ container: container!.id, force: true });
      const result = await removal;
      assert.equal(result.exitCode, 137);
    });

    it("is NOT_FOUND for containers outside the managed scope", async () => {
      const id = await createUnmanaged(run.name("cli-untouchable"));
      const client = server.client("grpc");
      for (const call of [
        () => client.startDockerContainer({ container: id }),
        () => client.restartDockerContainer({ container: id }),
        () => client.removeDockerContainer({ container: id, force: true }),
        () => client.waitDockerContainer({ container: id }),
      ]) {
        assert.equal((await rpcError(call())).code, Code.NotFound);
      }
      assert.ok(await containerExists(id));
      const labelled = await docker.getContainer(id).inspect();
      assert.equal(labelled.Config.Labels[testRunLabel], run.id);
    });
  });
});
