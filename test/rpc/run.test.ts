import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { ContainerState, MountType, Protocol, PullPolicy } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { dockerodeError } from "../support/fake-engine.js";
import { startFastServer, type FastServer } from "../support/fast-server.js";
import { eventually, rpcError, testImage } from "./expectations.js";

describe("RunDockerContainer over the real router, on a fake engine", () => {
  let server: FastServer;
  before(async () => {
    server = await startFastServer();
  });
  after(() => server.close());

  const client = () => server.client("grpc");

  it("answers with what the engine reports: a 64-hex id, the name, RUNNING, the managed label and the port the engine picked on loopback", async () => {
    const { container, warnings } = await server.client("connect-json").runDockerContainer({
      image: testImage,
      name: "greeter",
      ports: [{ containerPort: 80 }],
      labels: { team: "platform" },
    });
    assert.deepEqual(warnings, []);
    assert.match(container!.id, /^[0-9a-f]{64}$/);
    assert.equal(container!.name, "greeter");
    assert.equal(container!.state, ContainerState.RUNNING);
    assert.match(container!.imageId, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(container!.labels, { team: "platform", "io.osiris.managed": "true" }, "Osiris's bookkeeping labels stay hidden");
    assert.ok(container!.createdAt && container!.startedAt);
    assert.equal(container!.finishedAt, undefined);
    const [binding] = container!.ports;
    assert.equal(binding?.containerPort, 80);
    assert.equal(binding?.protocol, Protocol.TCP);
    assert.equal(binding?.hostIp, "127.0.0.1", "an empty host_ip publishes on OSIRIS_DEFAULT_HOST_IP");
    assert.ok(binding!.hostPort > 0);
  });

  it("asks the engine for no-new-privileges, dropped capabilities, read-only non-recursive binds, and its own labels", async () => {
    const { container } = await client().runDockerContainer({
      image: testImage,
      command: ["sleep", "60"],
      env: { GREETING: "hi" },
      mounts: [{ type: MountType.TMPFS, target: "/scratch" }],
      requestId: "create-body",
    });
    const body = server.engine.createBody(container!.id)!;
    assert.deepEqual(body.HostConfig.SecurityOpt, ["no-new-privileges"]);
    assert.deepEqual(body.HostConfig.CapDrop, ["MKNOD", "NET_RAW", "SETFCAP"]);
    assert.deepEqual(body.Cmd, ["sleep", "60"]);
    assert.deepEqual(body.Env, ["GREETING=hi"]);
    assert.deepEqual(body.HostConfig.Mounts, [{ Type: "tmpfs", Source: "", Target: "/scratch", ReadOnly: false }]);
    assert.equal(body.Labels["io.osiris.managed"], "true");
    assert.equal(body.Labels["io.osiris.request-id"], "create-body");
    assert.match(body.Labels["io.osiris.instance"] ?? "", /^[0-9a-f]{12}$/);
    assert.equal(container!.labels["io.osiris.request-id"], undefined, "hidden from the answer");
  });

  it("returns the container the first call made to a retry with the same request_id, creating it once", async () => {
    const request = { image: testImage, name: "retried", requestId: "retry-1" };
    const creates = server.engine.calls.createContainer;
    const first = await client().runDockerContainer(request);
    const retry = await server.client("grpc-web").runDockerContainer(request);
    assert.equal(retry.container?.id, first.container?.id);
    assert.equal(server.engine.calls.createContainer, creates + 1);
  });

  it("shares one create between concurrent retries of a request_id", async () => {
    const request = { image: testImage, requestId: "retry-concurrent" };
    const creates = server.engine.calls.createContainer;
    const answers = await Promise.all([client().runDockerContainer(request), client().runDockerContainer(request), client().runDockerContainer(request)]);
    assert.equal(new Set(answers.map((answer) => answer.container?.id)).size, 1);
    assert.equal(server.engine.calls.createContainer, creates + 1);
  });

  it("answers FAILED_PRECONDITION to a request_id reused for a different request", async () => {
    await client().runDockerContainer({ image: testImage, requestId: "retry-2", env: { A: "1" } });
    const error = await rpcError(client().runDockerContainer({ image: testImage, requestId: "retry-2", env: { A: "2" } }));
    assert.equal(error.code, Code.FailedPrecondition);
    assert.match(error.rawMessage, /request_id "retry-2"/);
  });

  it("removes the container it made when the start fails, leaving none behind", async () => {
    server.engine.failNext("startContainer", dockerodeError(500, "cgroups: cannot find cgroup mount destination: unknown", "server error"));
    const removals = server.engine.calls.removeContainer;
    const error = await rpcError(client().runDockerContainer({ image: testImage, name: "rolled-back" }));
    assert.equal(error.code, Code.FailedPrecondition);
    assert.equal(server.engine.inspect("rolled-back"), undefined);
    assert.equal(server.engine.calls.removeContainer, removals + 1);
  });

  it("answers CANCELED to a client that leaves while the engine is still creating, and removes the container once it lands", async () => {
    const { createContainer: creates, removeContainer: removals } = server.engine.calls;
    const release = server.engine.hang("createContainer");
    const leaving = new AbortController();
    const call = client().runDockerContainer({ image: testImage, name: "abandoned" }, { signal: leaving.signal });
    assert.ok(await eventually(() => server.engine.calls.createContainer === creates + 1), "the create reached the engine");
    leaving.abort();
    assert.equal((await rpcError(call)).code, Code.Canceled);
    assert.equal(server.engine.calls.removeContainer, removals, "nothing to roll back yet: the create has not landed");
    release();
    assert.ok(
      await eventually(() => server.engine.calls.removeContainer === removals + 1 && server.engine.inspect("abandoned") === undefined),
      "the container the create made was removed",
    );
  });

  it("pulls a missing image under IF_NOT_PRESENT, then runs it", async () => {
    server.engine.publish("127.0.0.1:5000/team/app:1.0");
    const pulls = server.engine.calls.pullImage;
    const { container } = await client().runDockerContainer({ image: "127.0.0.1:5000/team/app:1.0" });
    assert.equal(container?.state, ContainerState.RUNNING);
    assert.equal(server.engine.calls.pullImage, pulls + 1);
    assert.deepEqual(server.engine.pulls.at(-1), { fromImage: "127.0.0.1:5000/team/app", tag: "1.0", auth: undefined });
  });

  it("runs a present image without pulling under IF_NOT_PRESENT, and pulls it again under ALWAYS", async () => {
    server.engine.publish(testImage);
    const pulls = server.engine.calls.pullImage;
    await client().runDockerContainer({ image: testImage });
    assert.equal(server.engine.calls.pullImage, pulls, "no pull for a present image");
    await client().runDockerContainer({ image: testImage, pullPolicy: PullPolicy.ALWAYS });
    assert.equal(server.engine.calls.pullImage, pulls + 1, "ALWAYS pulls");
  });

  it("answers NOT_FOUND when the registry has no such image", async () => {
    const error = await rpcError(client().runDockerContainer({ image: "127.0.0.1:5000/team/missing:1.0" }));
    assert.equal(error.code, Code.NotFound);
    assert.match(error.rawMessage, /^Image not found: "127.0.0.1:5000\/team\/missing:1.0"/);
  });

  it("sends the request's registry credentials with the pull", async () => {
    server.engine.publish("127.0.0.1:5001/private/app:1.0", { username: "osiris", password: "secret-password" });
    await client().runDockerContainer({
      image: "127.0.0.1:5001/private/app:1.0",
      registryAuth: { username: "osiris", password: "secret-password", serverAddress: "127.0.0.1:5001" },
    });
    assert.deepEqual(server.engine.pulls.at(-1)?.auth, { username: "osiris", password: "secret-password", identitytoken: undefined, serveraddress: "127.0.0.1:5001" });
  });

  it("creates a named volume labelled as Osiris's, and refuses one it does not own with PERMISSION_DENIED", async () => {
    await client().runDockerContainer({ image: testImage, mounts: [{ type: MountType.VOLUME, source: "cache", target: "/cache" }] });
    assert.equal(server.engine.volume("cache")?.Labels?.["io.osiris.managed"], "true");
    server.engine.addVolume({ Name: "someone-elses" });
    const creates = server.engine.calls.createContainer;
    const error = await rpcError(
      client().runDockerContainer({ image: testImage, mounts: [{ type: MountType.VOLUME, source: "someone-elses", target: "/data" }] }),
    );
    assert.equal(error.code, Code.PermissionDenied);
    assert.match(error.rawMessage, /someone-elses/);
    assert.equal(server.engine.calls.createContainer, creates, "no container was created");
  });
});

describe("Run policy and the managed-container cap, from settings", () => {
  let server: FastServer;
  before(async () => {
    server = await startFastServer({ env: { OSIRIS_ALLOWED_IMAGES: "osiris-test/*", OSIRIS_MAX_MANAGED_CONTAINERS: "1" } });
  });
  after(() => server.close());

  it("refuses an image outside OSIRIS_ALLOWED_IMAGES with PERMISSION_DENIED, before any engine call", async () => {
    server.engine.addImage("busybox:latest");
    const error = await rpcError(server.client("grpc").runDockerContainer({ image: "busybox" }));
    assert.equal(error.code, Code.PermissionDenied);
    assert.match(error.rawMessage, /^Refused by policy OSIRIS_ALLOWED_IMAGES/);
    assert.equal(server.engine.calls.createContainer, 0);
  });

  it("answers RESOURCE_EXHAUSTED naming OSIRIS_MAX_MANAGED_CONTAINERS once the cap is reached", async () => {
    await server.client("grpc").runDockerContainer({ image: testImage });
    const error = await rpcError(server.client("grpc").runDockerContainer({ image: testImage }));
    assert.equal(error.code, Code.ResourceExhausted);
    assert.match(error.rawMessage, /OSIRIS_MAX_MANAGED_CONTAINERS/);
    assert.equal(server.engine.containerIds().length, 1);
  });
});
