import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { DockerService } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { managedLabel } from "../../server/containers/grammar/labels.js";
import { parseTokenList } from "../../server/security/tokens.js";
import { docker, eventually, newTestRun, removeTestContainers, testImage } from "../support/engine-fixtures.js";
import { openFiles } from "../support/process-stats.js";
import { rpcError } from "../support/rpc-assertions.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const operatorToken = `op-${randomUUID()}`;
const viewerToken = `view-${randomUUID()}`;
const tokens = parseTokenList(
  JSON.stringify([
    { principal: "ci-operator", role: "operator", token: operatorToken },
    { principal: "dashboard", role: "viewer", token: viewerToken },
  ]),
);
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const absent = "osiris-test-absent";

describe("audit lines of refused calls", () => {
  const logLines: string[] = [];
  let server: TestServer;
  before(async () => {
    server = await startTestServer(undefined, { tokens, logLevel: "info" }, { write: (line) => void logLines.push(line) });
  });
  after(async () => server.close());

  it("quote at most 256 characters of a 3 MB container name, and say how much was cut", async () => {
    const name = "n".repeat(3 * 1024 * 1024);
    // A viewer is known, so its body is read; Stop is refused for its role, and audited.
    const client = server.client("grpc");
    for (let i = 0; i < 20; i++) {
      assert.equal((await rpcError(client.stopDockerContainer({ container: name }, bearer(viewerToken)))).code, Code.PermissionDenied);
    }
    const written = logLines.reduce((bytes, line) => bytes + Buffer.byteLength(line), 0);
    // Before the cap, these 20 calls wrote 60 MB.
    assert.ok(written < 64 * 1024, `${written} bytes of log for 20 refused calls`);
    const audits = logLines.map((line) => JSON.parse(line) as { audit?: boolean; container?: string }).filter((entry) => entry.audit);
    assert.equal(audits.length, 20);
    assert.equal(audits[0]!.container, `${"n".repeat(256)}...(${name.length - 256} more characters)`);
  });

  it("never read the body of a caller without credentials: 20 Stops with a 3 MB name are refused and log no name", async () => {
    const before = logLines.length;
    const name = "m".repeat(3 * 1024 * 1024);
    for (let i = 0; i < 20; i++) {
      const answer = await fetch(`${server.baseUrl}/osiris.docker.v1.DockerService/StopDockerContainer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ container: name }),
      });
      assert.equal(answer.status, 401);
      assert.equal(((await answer.json()) as { code: string }).code, "unauthenticated");
    }
    const lines = logLines.slice(before);
    assert.ok(lines.reduce((bytes, line) => bytes + Buffer.byteLength(line), 0) < 64 * 1024);
    assert.ok(lines.every((line) => !line.includes("mmmm")), "no part of the unread name is logged");
  });
});

describe("the rate limit before authentication", () => {
  const logLines: string[] = [];
  let server: TestServer;
  before(async () => {
    server = await startTestServer(undefined, { tokens, logLevel: "info", rateLimit: { perSecond: 1, burst: 4 } }, { write: (line) => void logLines.push(line) });
  });
  after(async () => server.close());

  it("refuses a flood without valid credentials per address, with no log line per refusal, and lets valid tokens through", async () => {
    const client = server.client("grpc");
    const codes: Code[] = [];
    for (let i = 0; i < 10; i++) codes.push((await rpcError(client.stopDockerContainer({ container: absent }))).code);
    assert.deepEqual(codes.slice(0, 3), [Code.Unauthenticated, Code.Unauthenticated, Code.Unauthenticated], "the burst reaches the token check");
    assert.equal(codes.at(-1), Code.ResourceExhausted);
    // A made-up token is no way around it: it is checked before the bucket is skipped.
    const forged = await rpcError(client.stopDockerContainer({ container: absent }, bearer("made-up-token-of-some-length")));
    assert.equal(forged.code, Code.ResourceExhausted);
    assert.match(forged.rawMessage, /without valid credentials/);
    // Callers with valid tokens, from the same address, are counted per principal instead.
    assert.equal((await rpcError(client.stopDockerContainer({ container: absent }, bearer(operatorToken)))).code, Code.NotFound);
    assert.equal((await rpcError(client.getDockerContainer({ container: absent }, bearer(viewerToken)))).code, Code.NotFound);

    const entries = logLines.map((line) => JSON.parse(line) as { msg?: string; code?: string });
    const refusedLines = entries.filter((entry) => entry.msg === "rpc" && entry.code === "ResourceExhausted");
    assert.equal(refusedLines.length, 0, "refusals at the front door write no line each");
    const summaries = entries.filter((entry) => entry.msg?.startsWith("rate limit: refusing calls without valid credentials"));
    assert.equal(summaries.length, 1, "one summary line per address and minute");
  });
});

describe("health probes during a flood", () => {
  let open: TestServer;
  let authenticated: TestServer;
  before(async () => {
    open = await startTestServer(undefined, { rateLimit: { perSecond: 1, burst: 2 } });
    authenticated = await startTestServer(undefined, { tokens, rateLimit: { perSecond: 1, burst: 2 } });
  });
  after(async () => {
    await open.close();
    await authenticated.close();
  });

  for (const [title, server] of [
    ["with authentication off", () => open],
    ["with tokens, flooded by callers without one", () => authenticated],
  ] as const) {
    it(`keep answering SERVING on gRPC, gRPC-Web, /healthz and /readyz (${title})`, async () => {
      const { baseUrl, client } = server();
      let exhausted = false;
      for (let i = 0; i < 20; i++) {
        const error = await rpcError(client("grpc").stopDockerContainer({ container: absent }));
        exhausted ||= error.code === Code.ResourceExhausted;
      }
      assert.ok(exhausted, "the flood is being refused");
      for (const transport of [createGrpcTransport({ baseUrl }), createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })]) {
        const health = createClient(Health, transport);
        for (let i = 0; i < 8; i++) {
          assert.equal((await health.check({ service: "" })).status, HealthCheckResponse_ServingStatus.SERVING);
        }
      }
      assert.equal((await fetch(`${baseUrl}/healthz`)).status, 200);
      assert.equal((await fetch(`${baseUrl}/readyz`)).status, 200);
    });
  }
});

describe("unary calls in flight per principal", () => {
  const run = newTestRun();
  let server: ServerProcess;
  let sleeper = "";
  before(async () => {
    server = await startServerProcess({
      OSIRIS_TOKENS: JSON.stringify([{ principal: "dashboard", role: "viewer", token: viewerToken }]),
      // Only the in-flight limit (default 64) is under test here.
      OSIRIS_RATE_LIMIT: "100000",
    });
    const container = await docker.createContainer({
      Image: testImage,
      name: run.name("sleeper"),
      Labels: { ...run.labels, [managedLabel]: "true" },
      Cmd: ["sleep", "3600"],
    });
    await container.start();
    sleeper = container.id;
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server?.stop();
  });

  it("refuses 1,000 concurrent Waits from one viewer past 64 with RESOURCE_EXHAUSTED, and bounds the server's descriptors", async () => {
    const pid = server.child.pid!;
    const client = createClient(DockerService, createGrpcTransport({ baseUrl: server.url }));
    // Opens the client's one connection before counting.
    assert.equal((await rpcError(client.getDockerContainer({ container: absent }, bearer(viewerToken)))).code, Code.NotFound);
    const descriptorsBefore = openFiles(pid);

    const stop = new AbortController();
    const outcomes: (ConnectError | "answered")[] = [];
    const waits = Array.from({ length: 1000 }, () =>
      client.waitDockerContainer({ container: sleeper }, { ...bearer(viewerToken), signal: stop.signal }).then(
        () => void outcomes.push("answered"),
        (error: unknown) => void outcomes.push(ConnectError.from(error)),
      ),
    );
    try {
      assert.ok(await eventually(async () => outcomes.length >= 1000 - 64, 60_000), `${outcomes.length} of 1000 Waits settled`);
      const refused = outcomes.filter((outcome) => outcome !== "answered" && outcome.code === Code.ResourceExhausted) as ConnectError[];
      assert.equal(refused.length, 1000 - 64, "every Wait past the 64th is refused");
      assert.match(refused[0]!.rawMessage, /Too many calls in flight: at most 64 for "dashboard"/);
      // 64 engine connections at most, where 1,000 Waits used to hold 1,000.
      const descriptors = openFiles(pid);
      assert.ok(descriptors <= descriptorsBefore + 64 + 16, `${descriptors} descriptors open, ${descriptorsBefore} before`);
    } finally {
      stop.abort();
      await Promise.all(waits);
    }
    assert.ok(await eventually(async () => openFiles(pid) <= descriptorsBefore + 2, 30_000), "the Waits' engine connections are closed");
    const deadline = await rpcError(client.waitDockerContainer({ container: sleeper }, { ...bearer(viewerToken), timeoutMs: 500 }));
    assert.equal(deadline.code, Code.DeadlineExceeded, "slots are free again once the Waits end");
  });
});

