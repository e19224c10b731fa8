import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { mainEngine } from "../support/engine-control.js";
import { rpcError } from "../support/rpc-assertions.js";
import { runCommand, startServerProcess } from "../support/server-process.js";
import { protocols, startTestServer, type TestServer } from "../support/test-server.js";

const dockerService = "osiris.docker.v1.DockerService";

function healthClients(baseUrl: string) {
  return {
    grpc: createClient(Health, createGrpcTransport({ baseUrl })),
    "grpc-web": createClient(Health, createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })),
  };
}

describe("grpc.health.v1 follows the engine", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  for (const protocol of ["grpc", "grpc-web"] as const) {
    it(`answers Check for the server and DockerService, and NOT_FOUND for others (${protocol})`, async () => {
      const health = healthClients(server.baseUrl)[protocol];
      assert.equal((await health.check({ service: "" })).status, Status.SERVING);
      assert.equal((await health.check({ service: dockerService })).status, Status.SERVING);
      assert.equal((await rpcError(health.check({ service: "no.such.Service" }))).code, Code.NotFound);
      const { statuses } = await health.list({});
      assert.deepEqual(Object.keys(statuses).sort(), ["", dockerService]);
    });
  }

  it("needs no credentials when tokens are configured", async () => {
    const guarded = await startTestServer(undefined, {
      tokens: [{ principal: "ops", role: "operator", sha256: Buffer.alloc(32) }],
    });
    try {
      assert.equal((await healthClients(guarded.baseUrl).grpc.check({ service: "" })).status, Status.SERVING);
    } finally {
      await guarded.close();
    }
  });

  it("goes NOT_SERVING when dockerd stops and SERVING when it is back, streaming both changes to Watch", async () => {
    const health = healthClients(server.baseUrl).grpc;
    const watching = new AbortController();
    const seen: Status[] = [];
    let sawChange: () => void = () => {};
    const watch = (async () => {
      for await (const message of health.watch({ service: dockerService }, { signal: watching.signal })) {
        seen.push(message.status);
        sawChange();
      }
    })().catch(() => undefined);
    const until = async (status: Status) => {
      const deadline = Date.now() + 30_000;
      while (seen.at(-1) !== status && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          sawChange = resolve;
          setTimeout(resolve, 500);
        });
      }
      assert.equal(seen.at(-1), status);
    };
    try {
      await until(Status.SERVING);
      await mainEngine.stop();
      await until(Status.NOT_SERVING);
      assert.equal((await health.check({ service: "" })).status, Status.NOT_SERVING);
      assert.equal((await fetch(`${server.baseUrl}/readyz`)).status, 503);
      const started = Date.now();
      const unavailable = await rpcError(server.client("grpc").stopDockerContainer({ container: "web" }, { timeoutMs: 10_000 }));
      assert.equal(unavailable.code, Code.Unavailable);
      assert.ok(Date.now() - started < 2000, "answers UNAVAILABLE at once during the outage");
    } finally {
      await mainEngine.start();
    }
    await until(Status.SERVING);
    assert.equal((await fetch(`${server.baseUrl}/readyz`)).status, 200);
    assert.deepEqual(seen, [Status.SERVING, Status.NOT_SERVING, Status.SERVING]);
    watching.abort();
    await watch;
  });
});

describe("discovery with buf curl and no schema (gRPC server reflection)", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  const bufCurl = (...args: string[]) => runCommand("npx", ["buf", "curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args]);

  for (const reflectProtocol of ["grpc-v1", "grpc-v1alpha"]) {
    it(`lists services and methods over ${reflectProtocol}`, async () => {
      const services = await bufCurl("--reflect-protocol", reflectProtocol, "--list-services", server.baseUrl);
      assert.equal(services.code, 0, services.output);
      assert.match(services.output, /osiris\.docker\.v1\.DockerService/);
      assert.match(services.output, /grpc\.health\.v1\.Health/);
      const methods = await bufCurl("--reflect-protocol", reflectProtocol, "--list-methods", server.baseUrl);
      assert.equal(methods.code, 0, methods.output);
      assert.match(methods.output, /osiris\.docker\.v1\.DockerService\/RunDockerContainer/);
      assert.match(methods.output, /osiris\.docker\.v1\.DockerService\/StopDockerContainer/);
    });
  }

  it("calls a unary RPC knowing only its name", async () => {
    const result = await bufCurl("-d", '{"container": "osiris-test-absent"}', `${server.baseUrl}/${dockerService}/StopDockerContainer`);
    assert.match(result.output, /"code": "not_found"/);
    assert.match(result.output, /Container not found: \\"osiris-test-absent\\"/);
  });

  it("calls a server-streaming RPC knowing only its name", async () => {
    const result = await bufCurl("--timeout", "2s", "-d", `{"service": "${dockerService}"}`, `${server.baseUrl}/grpc.health.v1.Health/Watch`);
    assert.match(result.output, /"status": "SERVING"/);
  });
});

describe("/metrics", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  const scrape = async () => (await fetch(`${server.baseUrl}/metrics`)).text();
  const count = (text: string, protocol: string) =>
    Number(
      new RegExp(`osiris_rpc_requests_total\\{method="StopDockerContainer",protocol="${protocol}",code="NotFound"\\} (\\d+)`).exec(text)?.[1] ?? 0,
    );

  it("counts RPCs by method, protocol and code, and exposes engine latency and process metrics", async () => {
    const before = await scrape();
    for (const protocol of protocols) {
      await rpcError(server.client(protocol).stopDockerContainer({ container: "osiris-test-absent" }));
    }
    const after = await scrape();
    for (const protocol of ["connect", "grpc", "grpc-web"]) {
      assert.equal(count(after, protocol), count(before, protocol) + 1, protocol);
    }
    assert.match(after, /osiris_rpc_duration_seconds_bucket\{le="[^"]+",method="StopDockerContainer",protocol="grpc",code="NotFound"\}/);
    assert.match(after, /osiris_engine_call_duration_seconds_count\{operation="GET \/containers\/\{id\}\/json",outcome="error"\} \d+/);
    assert.match(after, /osiris_rpc_in_flight/);
    assert.match(after, /osiris_containers_started_total \d+/);
    assert.match(after, /process_resident_memory_bytes \d+/);
  });
});

describe("graceful shutdown", () => {
  it("ends an open stream with UNAVAILABLE on SIGTERM and exits 0", async () => {
    const server = await startServerProcess();
    const health = healthClients(server.url).grpc;
    const received: Status[] = [];
    const stream = (async () => {
      for await (const message of health.watch({ service: "" })) received.push(message.status);
    })();
    while (received.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    const exitCode = server.stop("SIGTERM");
    const error = await rpcError(stream);
    assert.equal(error.code, Code.Unavailable);
    assert.match(error.rawMessage, /shutting down/);
    assert.equal(await exitCode, 0);
  });
});
