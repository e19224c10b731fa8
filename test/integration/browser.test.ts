import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ContainerState, EventType } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { createOsirisClient } from "../../client-examples/browser/osiris-browser-client.js";
import { bundleDashboard } from "../../client-examples/browser/serve.js";
import { eventually, exitsOnSigint, newTestRun, removeTestContainers, testContainerIds, testImage } from "../support/engine-fixtures.js";
import { watchersRegistered } from "../support/server-metrics.js";
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

  it("lists, follows logs and watches events live with the dashboard's gRPC-Web client", async () => {
    const client = createOsirisClient(server.baseUrl);
    const stop = new AbortController();
    const events: string[] = [];
    const watching = (async () => {
      try {
        for await (const event of client.watchDockerEvents({ labelSelector: run.labels }, { signal: stop.signal })) {
          events.push(`${EventType[event.type]}:${event.containerName}`);
        }
      } catch {
        // Ends with the abort below.
      }
    })();
    const name = run.name("live");
    await watchersRegistered(server.baseUrl, 1);
    const { container } = await client.runDockerContainer({
      image: testImage,
      name,
      command: ["sh", "-c", "trap 'exit 0' INT; i=0; while true; do i=$((i+1)); echo line$i; sleep 0.2; done"],
      labels: run.labels,
    });
    const { containers } = await client.listDockerContainers({ labelSelector: run.labels });
    assert.deepEqual(
      containers.map((c) => c.name),
      [name],
    );
    const lines: string[] = [];
    const decoder = new TextDecoder();
    for await (const chunk of client.streamDockerContainerLogs({ container: name, follow: true }, { signal: stop.signal })) {
      lines.push(...decoder.decode(chunk.data).split("\n").filter(Boolean));
      if (lines.length >= 3) break;
    }
    assert.deepEqual(lines.slice(0, 3), ["line1", "line2", "line3"], "lines arrive while the container runs");
    await client.stopDockerContainer({ container: container!.id, signal: "SIGINT" });
    assert.ok(await eventually(async () => events.includes(`DIED:${name}`)), "the watcher saw the container die");
    stop.abort();
    await watching;
    assert.deepEqual(events.slice(0, 2), [`CREATED:${name}`, `STARTED:${name}`]);
  });

  it("bundles the dashboard page script for browsers", async () => {
    const script = await bundleDashboard();
    assert.match(script, /createGrpcWebTransport/);
    assert.match(script, /runDockerContainer/);
    assert.match(script, /watchDockerEvents/);
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
