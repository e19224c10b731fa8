import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ContainerState } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { createOsirisClient } from "../../client-examples/browser/osiris-browser-client.js";
import { bundleDashboard } from "../../client-examples/browser/serve.js";
import { exitsOnSigint, newTestRun, removeTestContainers, testContainerIds, testImage } from "../support/engine-fixtures.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const dashboardOrigin = "http://127.0.0.1:8081";

describe("browsers: gRPC-Web and CORS", () => {
  const run = newTestRun();
  let server: TestServer;
  before(async () => {
    server = await startTestServer(undefined, { corsOrigins: [dashboardOrigin] });
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server.close();
  });

  it("runs and stops a container with the dashboard's own gRPC-Web client (fetch-based, as in a browser)", async () => {
    const client = createOsirisClient(server.baseUrl);
    const { container } = await client.runDockerContainer({ image: testImage, command: exitsOnSigint(0), labels: run.labels });
    assert.equal(container?.state, ContainerState.RUNNING);
    const stopped = await client.stopDockerContainer({ container: container!.id, signal: "SIGINT" });
    assert.equal(stopped.container?.state, ContainerState.EXITED);
  });

  it("bundles the dashboard page script for browsers", async () => {
    const script = await bundleDashboard();
    assert.match(script, /createGrpcWebTransport/);
    assert.match(script, /runDockerContainer/);
  });

  it("answers a preflight from a configured origin with the headers gRPC-Web and Connect need", async () => {
    const response = await fetch(`${server.baseUrl}/osiris.docker.v1.DockerService/RunDockerContainer`, {
      method: "OPTIONS",
      headers: {
        origin: dashboardOrigin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-grpc-web,x-user-agent",
      },
    });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get("access-control-allow-origin"), dashboardOrigin);
    assert.match(response.headers.get("access-control-allow-headers") ?? "", /x-grpc-web/i);
    assert.match(response.headers.get("access-control-expose-headers") ?? "", /grpc-status/i);
  });

  it("refuses a preflight and a direct request from any other origin, creating nothing", async () => {
    const url = `${server.baseUrl}/osiris.docker.v1.DockerService/RunDockerContainer`;
    const refusedRun = newTestRun();
    const preflight = await fetch(url, {
      method: "OPTIONS",
      headers: { origin: "http://evil.example", "access-control-request-method": "POST" },
    });
    assert.equal(preflight.status, 403);
    assert.equal(preflight.headers.get("access-control-allow-origin"), null);

    const direct = await fetch(url, {
      method: "POST",
      headers: { origin: "http://evil.example", "content-type": "application/json" },
      body: JSON.stringify({ image: testImage, labels: refusedRun.labels, command: exitsOnSigint(0) }),
    });
    assert.equal(direct.status, 403);
    assert.deepEqual(await testContainerIds(refusedRun.id), [], "no container was created");
  });
});

describe("browsers when no origin is configured", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  it("refuses every request that carries an Origin header", async () => {
    const response = await fetch(`${server.baseUrl}/osiris.docker.v1.DockerService/StopDockerContainer`, {
      method: "POST",
      headers: { origin: "http://127.0.0.1:8081", "content-type": "application/json" },
      body: JSON.stringify({ container: "web" }),
    });
    assert.equal(response.status, 403);
    assert.equal(((await response.json()) as { code: string }).code, "permission_denied");
  });
});
