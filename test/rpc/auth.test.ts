import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Code, createClient } from "@connectrpc/connect";
import { Role } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { protocols, startFastServer, type FastServer } from "../support/fast-server.js";
import { collect, eventually, rpcError, streamError, testImage } from "./expectations.js";

const operatorToken = `op-${randomUUID()}`;
const viewerToken = `view-${randomUUID()}`;
const tokens = JSON.stringify([
  { principal: "ci-operator", role: "operator", token: operatorToken },
  { principal: "dashboard", role: "viewer", token: viewerToken },
]);
const managed = { "io.osiris.managed": "true" };

async function cachedContainers(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return Number(/^osiris_container_cache_containers (\d+)$/m.exec(text)?.[1]);
}

describe("authentication and roles, with OSIRIS_TOKENS set", () => {
  let server: FastServer;
  let containerId: string;
  before(async () => {
    server = await startFastServer({ env: { OSIRIS_TOKENS: tokens } });
    containerId = server.engine.addContainer({ name: "web", labels: managed, state: "running" });
    server.engine.writeLogs(containerId, "stdout", "hello\n");
    // The cache inspects what the create event names; that is its call, not a refused caller's.
    assert.ok(await eventually(async () => (await cachedContainers(server.baseUrl)) === 1), "the cache knows the container");
    // The start event's inspect may still be on its way.
    await new Promise((resolve) => setTimeout(resolve, 200));
  });
  after(() => server.close());

  for (const protocol of protocols) {
    it(`refuses a missing or unknown token with UNAUTHENTICATED, before any engine call (${protocol})`, async () => {
      const calls = { ...server.engine.calls };
      const missing = await rpcError(server.client(protocol).getDockerContainer({ container: "web" }));
      assert.equal(missing.code, Code.Unauthenticated);
      assert.equal(missing.rawMessage, 'Missing credentials: send "Authorization: Bearer <token>"');
      const unknown = await rpcError(server.clientWithToken(protocol, `${operatorToken}x`).stopDockerContainer({ container: "web" }));
      assert.equal(unknown.code, Code.Unauthenticated);
      assert.equal(unknown.rawMessage, "Invalid bearer token");
      assert.deepEqual({ ...server.engine.calls, ping: calls.ping }, calls);
    });
  }

  it("refuses a viewer every call that changes the engine with PERMISSION_DENIED naming the principal and role", async () => {
    const viewer = server.clientWithToken("grpc", viewerToken);
    const calls = { ...server.engine.calls };
    for (const call of [
      () => viewer.runDockerContainer({ image: testImage }),
      () => viewer.stopDockerContainer({ container: "web" }),
      () => viewer.startDockerContainer({ container: "web" }),
      () => viewer.restartDockerContainer({ container: "web" }),
      () => viewer.removeDockerContainer({ container: "web", force: true }),
      () => collect(viewer.pullDockerImage({ image: testImage })),
    ]) {
      const denied = await rpcError(call());
      assert.equal(denied.code, Code.PermissionDenied);
      assert.match(denied.rawMessage, /^Principal "dashboard" has role viewer; \w+ needs role operator$/);
    }
    assert.deepEqual({ ...server.engine.calls, ping: calls.ping }, calls, "no refused call reached the engine");
    assert.equal(server.engine.inspect("web")?.State.Running, true);
  });

  for (const protocol of protocols) {
    it(`tells each caller through WhoAmI its principal and role, and refuses one without a token (${protocol})`, async () => {
      const viewer = await server.clientWithToken(protocol, viewerToken).whoAmI({});
      assert.deepEqual([viewer.principal, viewer.role, viewer.authenticationRequired], ["dashboard", Role.VIEWER, true]);
      const operator = await server.clientWithToken(protocol, operatorToken).whoAmI({});
      assert.deepEqual([operator.principal, operator.role], ["ci-operator", Role.OPERATOR]);
      assert.equal((await rpcError(server.client(protocol).whoAmI({}))).code, Code.Unauthenticated);
    });
  }

  it("lets a viewer Get, List, Wait, read Logs and Watch events", async () => {
    const viewer = server.clientWithToken("connect-json", viewerToken);
    assert.equal((await viewer.getDockerContainer({ container: "web" })).container?.id, containerId);
    assert.deepEqual((await viewer.listDockerContainers({})).containers.map((c) => c.id), [containerId]);
    assert.equal((await rpcError(viewer.waitDockerContainer({ container: "web" }, { timeoutMs: 50 }))).code, Code.DeadlineExceeded);
    const logs = await collect(viewer.streamDockerContainerLogs({ container: "web" }));
    assert.equal(Buffer.from(logs[0]!.data).toString(), "hello\n");
    assert.equal((await streamError(viewer.watchDockerEvents({}, { timeoutMs: 50 }))).code, Code.DeadlineExceeded, "the watch was admitted");
  });

  it("lets an operator Run and Stop", async () => {
    const operator = server.clientWithToken("grpc-web", operatorToken);
    const { container } = await operator.runDockerContainer({ image: testImage });
    server.engine.react(container!.id, "SIGTERM", 0);
    assert.equal((await operator.stopDockerContainer({ container: container!.id })).container?.exitCode, 0);
  });

  it("answers health checks and reflection without a token", async () => {
    const transport = createGrpcTransport({ baseUrl: server.baseUrl });
    const health = await createClient(Health, transport).check({ service: "" });
    assert.equal(health.status, HealthCheckResponse_ServingStatus.SERVING);
    async function* listServices() {
      yield { messageRequest: { case: "listServices" as const, value: "" } };
    }
    const [answer] = await collect(createClient(ServerReflection, transport).serverReflectionInfo(listServices()));
    const names = answer?.messageResponse.case === "listServicesResponse" ? answer.messageResponse.value.service.map((s) => s.name) : [];
    assert.ok(names.includes("osiris.docker.v1.DockerService"), names.join());
  });

  it("writes one audit line per mutating call with principal, RPC, container and outcome", async () => {
    const operator = server.clientWithToken("grpc", operatorToken);
    await rpcError(operator.stopDockerContainer({ container: "audited-absent" }));
    await rpcError(server.clientWithToken("grpc", viewerToken).removeDockerContainer({ container: "web" }));
    const audits = server.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.audit === true);
    const stop = audits.find((entry) => entry.rpc === "StopDockerContainer" && entry.container === "audited-absent");
    assert.deepEqual([stop?.principal, stop?.outcome], ["ci-operator", "NotFound"]);
    assert.ok(audits.some((entry) => entry.principal === "dashboard" && entry.rpc === "RemoveDockerContainer" && entry.outcome === "PermissionDenied"));
    assert.equal(audits.filter((entry) => entry.rpc === "GetDockerContainer").length, 0, "reads are not audited");
  });
});

describe("without tokens (a loopback listener)", () => {
  let server: FastServer;
  before(async () => {
    server = await startFastServer();
  });
  after(() => server.close());

  it("serves callers that send no token, and ignores one that is sent", async () => {
    assert.deepEqual((await server.client("grpc").listDockerContainers({})).containers, []);
    assert.deepEqual((await server.clientWithToken("grpc", "anything-at-all-123").listDockerContainers({})).containers, []);
  });

  it("tells every caller through WhoAmI that it may do everything, and that no credentials are needed", async () => {
    const answer = await server.client("connect-json").whoAmI({});
    assert.deepEqual([answer.principal, answer.role, answer.authenticationRequired], ["", Role.OPERATOR, false]);
  });
});
