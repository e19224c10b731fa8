import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { after, before, describe, it } from "node:test";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { ContainerState, DockerService, MountType, type RunDockerContainerRequestSchema } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { openRunPolicy } from "../../server/containers/policy/run-policy.js";
import { parseTokenList } from "../../server/security/tokens.js";
import { docker, eventually, exitsOnSigint, newTestRun, removeTestContainers, testImage } from "../support/engine-fixtures.js";
import { rpcError } from "../support/rpc-assertions.js";
import { protocols, startTestServer, type TestServer } from "../support/test-server.js";

const operatorToken = `op-${randomUUID()}`;
const viewerToken = `view-${randomUUID()}`;
const tokens = parseTokenList(
  JSON.stringify([
    { principal: "ci-operator", role: "operator", token: operatorToken },
    { principal: "dashboard", role: "viewer", token: viewerToken },
  ]),
);
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe("authentication and roles, on every protocol", () => {
  const run = newTestRun();
  const logLines: string[] = [];
  let server: TestServer;
  before(async () => {
    server = await startTestServer(undefined, { tokens, logLevel: "info" }, { write: (line) => void logLines.push(line) });
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server.close();
  });

  for (const protocol of protocols) {
    it(`refuses missing and wrong tokens, refuses viewers on writes, and lets operators in (${protocol})`, async () => {
      const client = server.client(protocol);
      const request = { image: testImage, command: exitsOnSigint(0), labels: run.labels };
      for (const call of [
        () => client.runDockerContainer(request),
        () => client.stopDockerContainer({ container: "web" }),
      ]) {
        assert.equal((await rpcError(call())).code, Code.Unauthenticated);
      }
      assert.equal((await rpcError(client.runDockerContainer(request, bearer("not-a-token")))).code, Code.Unauthenticated);
      assert.equal((await rpcError(client.stopDockerContainer({ container: "web" }, bearer(`${operatorToken}x`)))).code, Code.Unauthenticated);

      const denied = await rpcError(client.runDockerContainer(request, bearer(viewerToken)));
      assert.equal(denied.code, Code.PermissionDenied);
      assert.match(denied.rawMessage, /"dashboard" has role viewer/);
      assert.equal((await rpcError(client.stopDockerContainer({ container: "web" }, bearer(viewerToken)))).code, Code.PermissionDenied);

      const { container } = await client.runDockerContainer(request, bearer(operatorToken));
      // A viewer reads: get, list, wait (with a deadline), logs, events; and changes nothing.
      const id = container!.id;
      const asViewer = bearer(viewerToken);
      assert.equal((await client.getDockerContainer({ container: id }, asViewer)).container?.id, id);
      assert.ok((await client.listDockerContainers({ labelSelector: run.labels }, asViewer)).containers.some((c) => c.id === id));
      assert.equal((await rpcError(client.waitDockerContainer({ container: id }, { ...asViewer, timeoutMs: 300 }))).code, Code.DeadlineExceeded);
      for await (const _ of client.streamDockerContainerLogs({ container: id }, asViewer)) {
        // Reading is allowed; the output itself does not matter here.
      }
      for (const call of [
        () => client.startDockerContainer({ container: id }, asViewer),
        () => client.restartDockerContainer({ container: id }, asViewer),
        () => client.removeDockerContainer({ container: id, force: true }, asViewer),
        async () => {
          for await (const _ of client.pullDockerImage({ image: testImage }, asViewer)) {
            // Never reached.
          }
        },
      ]) {
        assert.equal((await rpcError(call())).code, Code.PermissionDenied);
      }
      const stopped = await client.stopDockerContainer({ container: id, signal: "INT" }, bearer(operatorToken));
      assert.equal(stopped.container?.state, ContainerState.EXITED);
    });
  }

  it("writes one audit line per mutating call with principal, RPC, container, image and outcome", () => {
    const audits = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.audit === true);
    const operatorRuns = audits.filter((a) => a.principal === "ci-operator" && a.rpc === "RunDockerContainer");
    assert.equal(operatorRuns.length, protocols.length);
    assert.equal(operatorRuns[0]?.image, testImage);
    assert.equal(operatorRuns[0]?.outcome, "OK");
    assert.ok(audits.some((a) => a.principal === "dashboard" && a.outcome === "PermissionDenied"));
    assert.ok(audits.some((a) => a.principal === undefined && a.outcome === "Unauthenticated"));
  });
});

describe("secrets in env never reach the logs", () => {
  const run = newTestRun();
  const logLines: string[] = [];
  let server: TestServer;
  before(async () => {
    server = await startTestServer(undefined, { logLevel: "trace" }, { write: (line) => void logLines.push(line) });
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server.close();
  });

  it("logs no env value for a run that succeeds or fails, at trace level", async () => {
    const secret = `hunter2-${randomUUID()}`;
    const client = server.client("connect-json");
    const { container } = await client.runDockerContainer({
      image: testImage,
      command: exitsOnSigint(0),
      env: { SECRET: secret },
      labels: run.labels,
    });
    await client.stopDockerContainer({ container: container!.id, signal: "INT" });
    const failed = await rpcError(
      client.runDockerContainer({ image: testImage, command: ["/missing"], env: { SECRET: secret, "BAD=KEY": secret }, labels: run.labels }),
    );
    assert.doesNotMatch(failed.message, new RegExp(secret));
    await rpcError(client.runDockerContainer({ image: testImage, command: ["/missing"], env: { SECRET: secret }, labels: run.labels }));
    assert.ok(logLines.length > 0, "something was logged");
    assert.doesNotMatch(logLines.join("\n"), new RegExp(secret));
  });
});

describe("scope: only managed containers exist for callers", () => {
  const run = newTestRun();
  let managedOnly: TestServer;
  let everything: TestServer;
  before(async () => {
    managedOnly = await startTestServer();
    everything = await startTestServer(undefined, { scope: "all" });
  });
  after(async () => {
    await removeTestContainers(run.id);
    await managedOnly.close();
    await everything.close();
  });

  it("answers NOT_FOUND for a container the docker CLI made, unless the scope is widened", async () => {
    const name = run.name("cli-made");
    const made = await docker.createContainer({ Image: testImage, name, Cmd: exitsOnSigint(0), Labels: run.labels });
    await made.start();
    const error = await rpcError(managedOnly.client("grpc").stopDockerContainer({ container: name }));
    assert.equal(error.code, Code.NotFound);
    assert.equal(error.rawMessage, `Container not found: "${name}"`);
    assert.equal((await made.inspect()).State.Running, true, "it was not touched");

    const stopped = await everything.client("grpc").stopDockerContainer({ container: name, signal: "INT" });
    assert.equal(stopped.container?.state, ContainerState.EXITED);
  });
});

describe("run policy", () => {
  const run = newTestRun();
  let server: TestServer;
  let managedBefore: number;
  before(async () => {
    managedBefore = (await docker.listContainers({ all: true, filters: { label: ["io.osiris.managed=true"] } })).length;
    server = await startTestServer(undefined, {
      runPolicy: {
        ...openRunPolicy,
        allowedImages: ["osiris-test/*"],
        hostPortMin: 20000,
        hostPortMax: 20010,
        maxMemoryBytes: 64 * 1024 * 1024,
        maxNanoCpus: 500_000_000,
        maxManagedContainers: managedBefore + 1,
      },
    });
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server.close();
  });

  const limited = { memoryBytes: 32n * 1024n * 1024n, cpu: { case: "cpuMillicores" as const, value: 250 } };

  const cases: [string, MessageInitShape<typeof RunDockerContainerRequestSchema>, string][] = [
    ["an image outside the allowlist", { image: "127.0.0.1:5000/osiris-test/busybox", resources: limited }, "OSIRIS_ALLOWED_IMAGES"],
    ["a privileged host port", { image: testImage, resources: limited, ports: [{ containerPort: 80, hostPort: 80 }] }, "OSIRIS_HOST_PORT_RANGE"],
    ["a host port outside the range", { image: testImage, resources: limited, ports: [{ containerPort: 80, hostPort: 30000 }] }, "OSIRIS_HOST_PORT_RANGE"],
    ["no memory limit", { image: testImage, resources: { cpu: limited.cpu } }, "OSIRIS_MAX_MEMORY_BYTES"],
    ["too much memory", { image: testImage, resources: { ...limited, memoryBytes: 1024n * 1024n * 1024n } }, "OSIRIS_MAX_MEMORY_BYTES"],
    ["too many CPUs", { image: testImage, resources: { ...limited, cpu: { case: "cpuMillicores" as const, value: 2000 } } }, "OSIRIS_MAX_CPU_MILLICORES"],
  ];
  for (const [title, request, rule] of cases) {
    it(`refuses ${title} with PERMISSION_DENIED naming ${rule}`, async () => {
      const error = await rpcError(server.client("grpc").runDockerContainer({ ...request, labels: run.labels, command: exitsOnSigint(0) }));
      assert.equal(error.code, Code.PermissionDenied);
      assert.match(error.rawMessage, new RegExp(`^Refused by policy ${rule}`));
    });
  }

  it("allows a run within every rule, then refuses the next at the container cap", async () => {
    const allowed = await server.client("grpc").runDockerContainer({
      image: testImage,
      command: exitsOnSigint(0),
      labels: run.labels,
      resources: limited,
      ports: [{ containerPort: 80, hostPort: 20005, hostIp: "127.0.0.1" }],
    });
    assert.equal(allowed.container?.state, ContainerState.RUNNING);
    const capped = await rpcError(
      server.client("grpc").runDockerContainer({ image: testImage, command: exitsOnSigint(0), labels: run.labels, resources: limited }),
    );
    assert.equal(capped.code, Code.ResourceExhausted, "a quota on the engine's state, not a policy on the request");
    assert.match(capped.rawMessage, /OSIRIS_MAX_MANAGED_CONTAINERS/);
  });
});

describe("limits", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(undefined, { rateLimit: { perSecond: 1, burst: 3 } });
  });
  after(async () => server.close());

  it("refuses a 10 MB request with RESOURCE_EXHAUSTED on Connect JSON and gRPC", async () => {
    const huge = "x".repeat(10 * 1024 * 1024);
    const response = await fetch(`${server.baseUrl}/osiris.docker.v1.DockerService/RunDockerContainer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ image: testImage, env: { BIG: huge } }),
    });
    const body = (await response.json()) as { code: string };
    assert.equal(body.code, "resource_exhausted");
    // connect-node's own HTTP/2 session stops at 10 MB of buffered output; give the client room to send it.
    const client = createClient(DockerService, createGrpcTransport({ baseUrl: server.baseUrl, nodeOptions: { maxSessionMemory: 64 }, idleConnectionTimeoutMs: 500 }));
    const error = await rpcError(client.runDockerContainer({ image: testImage, env: { BIG: huge } }));
    assert.equal(error.code, Code.ResourceExhausted);
    assert.equal((await rpcError(client.stopDockerContainer({ container: "osiris-test-absent" }))).code, Code.NotFound, "the connection still serves");
  });

  it("engages the rate limit with RESOURCE_EXHAUSTED", async () => {
    const codes: Code[] = [];
    for (let i = 0; i < 6; i++) {
      codes.push((await rpcError(server.client("grpc").stopDockerContainer({ container: "osiris-test-absent" }))).code);
    }
    assert.ok(codes.includes(Code.NotFound), "calls within the burst reach the handler");
    assert.equal(codes.at(-1), Code.ResourceExhausted);
  });
});

describe("open streams per principal", () => {
  const aliceToken = `alice-${randomUUID()}`;
  const bobToken = `bob-${randomUUID()}`;
  const viewers = parseTokenList(
    JSON.stringify([
      { principal: "alice", role: "viewer", token: aliceToken },
      { principal: "bob", role: "viewer", token: bobToken },
    ]),
  );
  let server: TestServer;
  before(async () => {
    server = await startTestServer(undefined, { tokens: viewers, maxStreamsPerPrincipal: 2 });
  });
  after(async () => server.close());

  it("refuses a third open stream with RESOURCE_EXHAUSTED, counts each principal apart, and frees a slot when one closes", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: server.baseUrl }));
    const open = (token: string) => {
      const controller = new AbortController();
      const messages = health.watch({ service: "" }, { signal: controller.signal, ...bearer(token) })[Symbol.asyncIterator]();
      return { close: () => controller.abort(), first: messages.next() };
    };
    const first = open(aliceToken);
    const second = open(aliceToken);
    await Promise.all([first.first, second.first]);

    const refused = await rpcError(open(aliceToken).first);
    assert.equal(refused.code, Code.ResourceExhausted);
    assert.match(refused.rawMessage, /"alice"/);

    const bobs = open(bobToken);
    assert.equal((await bobs.first).done, false, "another principal has a count of its own");

    first.close();
    assert.ok(
      await eventually(async () => {
        const attempt = open(aliceToken);
        const opened = await attempt.first.then(
          () => true,
          () => false,
        );
        attempt.close();
        return opened;
      }, 5000),
      "closing a stream frees its slot",
    );
    second.close();
    bobs.close();
  });
});

describe("mounts", () => {
  const run = newTestRun();
  const allowed = mkdtempSync(join(tmpdir(), "osiris-test-mounts-"));
  const volume = `osiris-test-${run.id}`;
  let server: TestServer;
  before(async () => {
    mkdirSync(join(allowed, "data"));
    symlinkSync("/run", join(allowed, "escape"));
    server = await startTestServer(undefined, { runPolicy: { ...openRunPolicy, bindMountAllowlist: [allowed, "/"] } });
  });
  after(async () => {
    await removeTestContainers(run.id);
    await docker.getVolume(volume).remove().catch(() => undefined);
    await server.close();
    rmSync(allowed, { recursive: true, force: true });
  });

  const runWith = (mounts: MessageInitShape<typeof RunDockerContainerRequestSchema>["mounts"], command = exitsOnSigint(0)) =>
    server.client("grpc").runDockerContainer({ image: testImage, command, labels: run.labels, mounts });

  it("bind-mounts a folder under the allowlist, read-only", async () => {
    writeFileSync(join(allowed, "data", "in"), "written-outside\n");
    const { container } = await runWith(
      [{ type: MountType.BIND, source: join(allowed, "data"), target: "/data", readOnly: true }],
      ["sh", "-c", "cat /data/in; touch /data/out 2>&1; sleep 60"],
    );
    assert.equal(container?.state, ContainerState.RUNNING);
    const logs = async () => (await docker.getContainer(container!.id).logs({ stdout: true, stderr: true })).toString();
    assert.ok(await eventually(async () => /Read-only file system/.test(await logs())), await logs());
    assert.match(await logs(), /written-outside/);
    assert.equal(existsSync(join(allowed, "data", "out")), false);
  });

  for (const [title, source, rule] of [
    ["the Docker socket itself", "/var/run/docker.sock", "HOST_PATH_DENY_LIST"],
    ["a folder holding the Docker socket", "/run", "HOST_PATH_DENY_LIST"],
    ["the host root, even when / is on the allowlist", "/", "HOST_PATH_DENY_LIST"],
    // Refused for the symlink itself, before where it leads is even considered.
    ["a symlink under an allowed folder that leads to the socket's folder", join(allowed, "escape"), "OSIRIS_BIND_MOUNT_ALLOWLIST"],
  ] as const) {
    it(`refuses to bind-mount ${title}`, async () => {
      const error = await rpcError(runWith([{ type: MountType.BIND, source, target: "/host", readOnly: true }]));
      assert.equal(error.code, Code.PermissionDenied);
      assert.match(error.rawMessage, new RegExp(`^Refused by policy ${rule}`));
    });
  }

  it("refuses a bind mount outside the allowlist, and every bind mount when the allowlist is empty", async () => {
    const strict = await startTestServer();
    try {
      const error = await rpcError(
        strict.client("grpc").runDockerContainer({
          image: testImage,
          labels: run.labels,
          mounts: [{ type: MountType.BIND, source: join(allowed, "data"), target: "/data", readOnly: true }],
        }),
      );
      assert.equal(error.code, Code.PermissionDenied);
      assert.match(error.rawMessage, /^Refused by policy OSIRIS_BIND_MOUNT_ALLOWLIST/);
    } finally {
      await strict.close();
    }
  });

  it("mounts a named volume and a tmpfs, which need no allowlist", async () => {
    const { container } = await runWith([
      { type: MountType.VOLUME, source: volume, target: "/cache" },
      { type: MountType.TMPFS, target: "/scratch", readOnly: false },
    ]);
    const inspect = await docker.getContainer(container!.id).inspect();
    const types = inspect.Mounts.map((mount) => `${mount.Type}:${mount.Destination}`).sort();
    assert.deepEqual(types, ["tmpfs:/scratch", "volume:/cache"]);
  });

  it("answers INVALID_ARGUMENT for malformed mounts", async () => {
    const error = await rpcError(
      runWith([
        { type: MountType.UNSPECIFIED, target: "/a" },
        { type: MountType.BIND, source: "relative/path", target: "relative", readOnly: true },
        { type: MountType.VOLUME, source: "bad name", target: "/a" },
      ]),
    );
    assert.equal(error.code, Code.InvalidArgument);
    const fields = error.findDetails(BadRequestSchema).flatMap((detail) => detail.fieldViolations.map((v) => v.field));
    assert.deepEqual(fields.sort(), ["mounts[0].type", "mounts[1].source", "mounts[1].target", "mounts[2].source", "mounts[2].target"]);
  });
});
