import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes, randomUUID } from "node:crypto";
import { after, afterEach, before, describe, it } from "node:test";
import { create, toJsonString, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import {
  ContainerState,
  ContainerSchema,
  EventType,
  RunDockerContainerRequestSchema,
  WatchDockerEventsResponseSchema,
  type WatchDockerEventsResponse,
} from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { ConfigError, loadConfig } from "../../server/config.js";
import { digestedText } from "../../server/containers/operations/run-digest.js";
import { openRunPolicy } from "../../server/containers/policy/run-policy.js";
import { runSpecFromRequest } from "../../server/rpc/requests/run-request.js";
import { parseTokenList } from "../../server/security/tokens.js";
import { docker, eventually, exitsOnSigint, newTestRun, removeTestContainers, testContainerIds, testImage } from "../support/engine-fixtures.js";
import { rpcError } from "../support/rpc-assertions.js";
import { ScopedEngine } from "../support/scoped-engine.js";
import { watchersRegistered } from "../support/server-metrics.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const operatorToken = `op-${randomUUID()}`;
const viewerToken = `view-${randomUUID()}`;
const tokens = parseTokenList(
  JSON.stringify([
    { principal: "ci-operator", role: "operator", token: operatorToken },
    { principal: "dashboard", role: "viewer", token: viewerToken },
  ]),
);
const asOperator = { headers: { authorization: `Bearer ${operatorToken}` } };
const asViewer = { headers: { authorization: `Bearer ${viewerToken}` } };

const digestKey = Buffer.from(randomBytes(32).toString("hex"));

function internalLabelKeys(labels: Record<string, string>): string[] {
  return Object.keys(labels).filter((key) => key.startsWith("io.osiris.") && key !== "io.osiris.managed");
}

function violatedFields(error: ConnectError): string[] {
  return error.findDetails(BadRequestSchema).flatMap((detail) => detail.fieldViolations.map((v) => v.field));
}

describe("the request digest is no oracle for env values", () => {
  const run = newTestRun();
  let server: TestServer;
  before(async () => {
    server = await startTestServer(undefined, { tokens, requestDigestKey: digestKey });
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server.close();
  });

  const guessedPassword = "hunter2";
  const request = (requestId: string, password = guessedPassword): MessageInitShape<typeof RunDockerContainerRequestSchema> => ({
    image: testImage,
    command: exitsOnSigint(0),
    labels: run.labels,
    env: { DB_PASSWORD: password },
    requestId,
  });
  /** The digests a guesser could compute: the plain SHA-256 the engine used to hold, and the HMAC under the real key. */
  const candidateDigests = (requestId: string) => {
    const text = digestedText(runSpecFromRequest(create(RunDockerContainerRequestSchema, request(requestId))));
    return {
      plain: createHash("sha256").update(text).digest("hex"),
      keyed: createHmac("sha256", digestKey).update(text).digest("hex"),
    };
  };

  it("shows a viewer no io.osiris. label but io.osiris.managed, and no digest, in Run, Get, List or events", async () => {
    const client = server.client("grpc");
    const requestId = `oracle-${run.id}`;
    const stopWatching = new AbortController();
    const events: WatchDockerEventsResponse[] = [];
    const watching = (async () => {
      try {
        for await (const event of client.watchDockerEvents({ labelSelector: run.labels }, { ...asViewer, signal: stopWatching.signal })) {
          events.push(event);
        }
      } catch (error) {
        if (!stopWatching.signal.aborted) throw error;
      }
    })();
    await watchersRegistered(server.baseUrl, 1);

    const ran = await client.runDockerContainer(request(requestId), asOperator);
    const containerId = ran.container!.id;
    const got = await client.getDockerContainer({ container: containerId }, asViewer);
    const listed = await client.listDockerContainers({ all: true, labelSelector: run.labels }, asViewer);
    const started = () => events.some((e) => e.containerId === containerId && e.type === EventType.STARTED);
    assert.ok(await eventually(async () => started(), 30_000), "the run's created and started events arrive");
    stopWatching.abort();
    await watching;

    const shown = [ran.container!, got.container!, ...listed.containers];
    assert.equal(listed.containers.length, 1);
    for (const container of shown) {
      assert.equal(container.labels["io.osiris.managed"], "true");
      assert.deepEqual(internalLabelKeys(container.labels), [], "answers keep Osiris's labels to themselves");
    }
    for (const event of events) {
      assert.equal(event.labels["io.osiris.managed"], "true");
      assert.deepEqual(internalLabelKeys(event.labels), [], `a ${event.type} event keeps Osiris's labels to itself`);
    }
    const everythingShown = [
      ...shown.map((container) => toJsonString(ContainerSchema, container)),
      ...events.map((event) => toJsonString(WatchDockerEventsResponseSchema, event)),
    ].join("\n");
    const { plain, keyed } = candidateDigests(requestId);
    assert.ok(!everythingShown.includes(plain), "the guessed password's plain digest appears nowhere");
    assert.ok(!everythingShown.includes(keyed), "nor does its keyed digest");
  });

  it("keeps on the engine an HMAC under OSIRIS_REQUEST_DIGEST_KEY, not the SHA-256 a guesser can compute", async () => {
    const requestId = `keyed-${run.id}`;
    const { container } = await server.client("grpc").runDockerContainer(request(requestId), asOperator);
    const labels = (await docker.getContainer(container!.id).inspect()).Config.Labels;
    const { plain, keyed } = candidateDigests(requestId);
    assert.notEqual(labels["io.osiris.request-digest"], plain);
    assert.equal(labels["io.osiris.request-digest"], keyed);
  });

  it("refuses a List or Watch label selector on an internal label with INVALID_ARGUMENT naming it", async () => {
    const client = server.client("grpc");
    const { plain } = candidateDigests(`oracle-${run.id}`);
    const listed = await rpcError(
      client.listDockerContainers({ all: true, labelSelector: { "io.osiris.request-digest": plain } }, asViewer),
    );
    assert.equal(listed.code, Code.InvalidArgument);
    assert.deepEqual(violatedFields(listed), ['label_selector["io.osiris.request-digest"]']);
    const watched = await rpcError(
      (async () => {
        for await (const _event of client.watchDockerEvents({ labelSelector: { "io.osiris.request-id": "" } }, asViewer)) return;
      })(),
    );
    assert.equal(watched.code, Code.InvalidArgument);
    assert.deepEqual(violatedFields(watched), ['label_selector["io.osiris.request-id"]']);
    const managed = await client.listDockerContainers({ all: true, labelSelector: { ...run.labels, "io.osiris.managed": "true" } }, asViewer);
    assert.ok(managed.containers.length > 0, "io.osiris.managed stays selectable");
  });

  it("recognises a retry on a replica with the same key, and tells a retry under another key from a different request", async () => {
    const requestId = `replica-${run.id}`;
    const first = await server.client("grpc").runDockerContainer(request(requestId), asOperator);
    const replica = await startTestServer(undefined, { requestDigestKey: digestKey });
    const otherKey = await startTestServer(undefined, { requestDigestKey: Buffer.from(randomBytes(32).toString("hex")) });
    try {
      const retried = await replica.client("connect-json").runDockerContainer(request(requestId));
      assert.equal(retried.container?.id, first.container?.id);
      const changed = await rpcError(replica.client("grpc").runDockerContainer(request(requestId, "another-guess")));
      assert.equal(changed.code, Code.FailedPrecondition);
      assert.match(changed.rawMessage, /already used for a different request/);
      const unverifiable = await rpcError(otherKey.client("grpc").runDockerContainer(request(requestId)));
      assert.equal(unverifiable.code, Code.FailedPrecondition);
      assert.match(unverifiable.rawMessage, /another OSIRIS_REQUEST_DIGEST_KEY_FILE/);
      assert.equal(
        (await docker.listContainers({ all: true, filters: { label: [`io.osiris.request-id=${requestId}`] } })).length,
        1,
      );
    } finally {
      await replica.close();
      await otherKey.close();
    }
  });
});

interface Burst {
  succeeded: string[];
  refused: ConnectError[];
}

async function settle(calls: Promise<{ container?: { id: string } }>[]): Promise<Burst> {
  const results = await Promise.allSettled(calls);
  return {
    succeeded: results.flatMap((r) => (r.status === "fulfilled" ? [r.value.container!.id] : [])),
    refused: results.flatMap((r) => (r.status === "rejected" ? [r.reason as ConnectError] : [])),
  };
}

// The cap counts every managed container on the engine, and other tests
// create and remove theirs on this engine all the time (a burst saw 4 to 21
// such changes). So these servers see the engine through a ScopedEngine whose
// lists hold only this test's containers; every call and container is real.
describe("OSIRIS_MAX_MANAGED_CONTAINERS under concurrency", () => {
  const run = newTestRun();
  let engine: ScopedEngine;
  const capOf4 = { runPolicy: { ...openRunPolicy, maxManagedContainers: 4 } };
  before(async () => {
    engine = await ScopedEngine.start(run.id);
  });
  afterEach(async () => removeTestContainers(run.id));
  after(async () => engine.close());

  const runOne = (server: TestServer) =>
    server.client("grpc").runDockerContainer({ image: testImage, command: exitsOnSigint(0), labels: run.labels });

  it("lets exactly 4 of 20 concurrent Runs through a cap of 4; the others get RESOURCE_EXHAUSTED and leave nothing", async () => {
    const server = await startTestServer(engine.endpoint, capOf4);
    let burst: Burst;
    try {
      burst = await settle(Array.from({ length: 20 }, () => runOne(server)));
    } finally {
      await server.close();
    }
    assert.equal(burst.succeeded.length, 4);
    assert.deepEqual(
      burst.refused.map((error) => error.code),
      Array(16).fill(Code.ResourceExhausted),
    );
    assert.equal(
      burst.refused[0]!.rawMessage,
      "Managed container cap reached (OSIRIS_MAX_MANAGED_CONTAINERS=4): 4 managed containers exist; remove containers that are no longer needed, then run again",
    );
    assert.deepEqual((await testContainerIds(run.id)).sort(), [...burst.succeeded].sort(), "no extra container is left");
  });

  it("never lets two servers sharing the engine exceed it together, and rolls back every refused Run", async (t) => {
    const servers = [await startTestServer(engine.endpoint, capOf4), await startTestServer(engine.endpoint, capOf4)];
    let burst: Burst;
    try {
      burst = await settle(Array.from({ length: 20 }, (_, i) => runOne(servers[i % 2]!)));
    } finally {
      await Promise.all(servers.map((server) => server.close()));
    }
    t.diagnostic(`${burst.succeeded.length} of 20 succeeded across two servers`);
    assert.ok(burst.succeeded.length >= 1 && burst.succeeded.length <= 4, `${burst.succeeded.length} succeeded`);
    assert.ok(burst.refused.every((error) => error.code === Code.ResourceExhausted), burst.refused.map((e) => e.message).join("; "));
    // A Run that counted too many after its create removes its container before answering.
    assert.deepEqual((await testContainerIds(run.id)).sort(), [...burst.succeeded].sort(), "refused runs left nothing");
    for (const id of burst.succeeded) assert.equal((await docker.getContainer(id).inspect()).State.Running, true);
  });
});

describe("published ports", () => {
  const run = newTestRun();
  let server: TestServer;
  before(async () => {
    server = await startTestServer(undefined, { runPolicy: { ...openRunPolicy, maxPortsPerRun: 2 } });
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server.close();
  });

  it("refuses 200 ports with PERMISSION_DENIED naming ports and OSIRIS_MAX_PORTS_PER_RUN, and creates nothing", async () => {
    const defaults = await startTestServer();
    try {
      const error = await rpcError(
        defaults.client("grpc").runDockerContainer({
          image: testImage,
          command: exitsOnSigint(0),
          labels: run.labels,
          ports: Array.from({ length: 200 }, (_, i) => ({ containerPort: 10_000 + i })),
        }),
      );
      assert.equal(error.code, Code.PermissionDenied);
      assert.equal(error.rawMessage, "Refused by policy OSIRIS_MAX_PORTS_PER_RUN: ports publishes 200 ports; at most 32 are allowed per run");
      assert.deepEqual(await testContainerIds(run.id), []);
    } finally {
      await defaults.close();
    }
  });

  it("allows as many ports as the operator's cap, and refuses one more", async () => {
    const client = server.client("connect-json");
    const ports = [{ containerPort: 80 }, { containerPort: 81 }];
    const { container } = await client.runDockerContainer({ image: testImage, command: exitsOnSigint(0), labels: run.labels, ports });
    assert.equal(container?.state, ContainerState.RUNNING);
    const error = await rpcError(
      client.runDockerContainer({ image: testImage, command: exitsOnSigint(0), labels: run.labels, ports: [...ports, { containerPort: 82 }] }),
    );
    assert.equal(error.code, Code.PermissionDenied);
    assert.match(error.rawMessage, /^Refused by policy OSIRIS_MAX_PORTS_PER_RUN: ports publishes 3 ports; at most 2/);
  });

  it("publishes a port with an empty host_ip on 127.0.0.1 only", async () => {
    const { container } = await server.client("grpc").runDockerContainer({
      image: testImage,
      command: exitsOnSigint(0),
      labels: run.labels,
      ports: [{ containerPort: 80, hostPort: 0 }],
    });
    assert.deepEqual(container?.ports.map((port) => port.hostIp), ["127.0.0.1"]);
    const inspect = await docker.getContainer(container!.id).inspect();
    assert.deepEqual(inspect.HostConfig.PortBindings, { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] });
    assert.deepEqual(inspect.NetworkSettings.Ports["80/tcp"]?.map((binding) => binding.HostIp), ["127.0.0.1"]);
  });

  it("publishes an empty host_ip on the operator's OSIRIS_DEFAULT_HOST_IP, and an explicit host_ip as asked", async () => {
    const other = await startTestServer(undefined, { runPolicy: { ...openRunPolicy, defaultHostIp: "127.0.0.2" } });
    try {
      const { container } = await other.client("grpc").runDockerContainer({
        image: testImage,
        command: exitsOnSigint(0),
        labels: run.labels,
        ports: [{ containerPort: 80 }, { containerPort: 81, hostIp: "127.0.0.1" }],
      });
      assert.deepEqual(
        container?.ports.map((port) => [port.containerPort, port.hostIp]),
        [
          [80, "127.0.0.2"],
          [81, "127.0.0.1"],
        ],
      );
    } finally {
      await other.close();
    }
  });
});

describe("settings for these limits", () => {
  it("defaults to 32 ports per run, loopback for an empty host_ip, and no digest key", () => {
    const config = loadConfig({});
    assert.equal(config.runPolicy.maxPortsPerRun, 32);
    assert.equal(config.runPolicy.defaultHostIp, "127.0.0.1");
    assert.equal(config.requestDigestKey, undefined);
  });

  it("refuses a short digest key and a default host IP that is not an address, naming the setting", () => {
    assert.throws(() => loadConfig({ OSIRIS_REQUEST_DIGEST_KEY: "password" }), (error: unknown) => {
      return error instanceof ConfigError && error.setting === "OSIRIS_REQUEST_DIGEST_KEY" && /at least 32/.test(error.message);
    });
    assert.throws(() => loadConfig({ OSIRIS_DEFAULT_HOST_IP: "localhost" }), (error: unknown) => {
      return error instanceof ConfigError && error.setting === "OSIRIS_DEFAULT_HOST_IP";
    });
    const key = randomBytes(32).toString("hex");
    assert.deepEqual(loadConfig({ OSIRIS_REQUEST_DIGEST_KEY: key }).requestDigestKey, Buffer.from(key));
  });
});
