import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { rpcError } from "../support/rpc-assertions.js";
import { protocols, startTestServer, type TestServer } from "../support/test-server.js";

describe("probes and request logs", () => {
  const logLines: string[] = [];
  let server: TestServer;
  let engineless: TestServer;
  before(async () => {
    server = await startTestServer(undefined, { logLevel: "info" }, { write: (line) => void logLines.push(line) });
    engineless = await startTestServer("unix:///tmp/osiris-test-no-engine.sock");
  });
  after(async () => {
    await server.close();
    await engineless.close();
  });

  it("answers /healthz always and /readyz only while the engine answers", async () => {
    assert.equal((await fetch(`${server.baseUrl}/healthz`)).status, 200);
    assert.equal((await fetch(`${server.baseUrl}/readyz`)).status, 200);
    assert.equal((await fetch(`${engineless.baseUrl}/healthz`)).status, 200);
    const notReady = await fetch(`${engineless.baseUrl}/readyz`);
    assert.equal(notReady.status, 503);
  });

  it("echoes the client's x-request-id and logs one line per RPC with method, protocol and code", async () => {
    const response = await fetch(`${server.baseUrl}/osiris.docker.v1.DockerService/StopDockerContainer`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "trace-abc-123" },
      body: JSON.stringify({ container: "osiris-test-absent" }),
    });
    assert.equal(response.status, 404);
    assert.equal(response.headers.get("x-request-id"), "trace-abc-123");
    for (const protocol of protocols) {
      const error = await rpcError(server.client(protocol).stopDockerContainer({ container: "osiris-test-absent" }));
      assert.equal(error.code, Code.NotFound);
      assert.match(error.metadata.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/, `a generated id over ${protocol}`);
    }
    const rpcLines = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.msg === "rpc");
    const traced = rpcLines.find((entry) => entry.requestId === "trace-abc-123");
    assert.equal(traced?.rpc, "osiris.docker.v1.DockerService/StopDockerContainer");
    assert.equal(traced?.protocol, "connect");
    assert.equal(traced?.code, "NotFound");
    assert.equal(typeof traced?.durationMs, "number");
    assert.deepEqual(new Set(rpcLines.map((entry) => entry.protocol)), new Set(["connect", "grpc", "grpc-web"]));
  });
});
