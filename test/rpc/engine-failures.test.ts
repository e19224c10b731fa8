import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { ContainerState } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { dockerodeError } from "../support/fake-engine.js";
import { startFastServer, type FastServer } from "../support/fast-server.js";
import { badRequestFields, eventually, rpcError, testImage } from "./expectations.js";

const managed = { "io.osiris.managed": "true" };

describe("engine failures become precise status codes", () => {
  let server: FastServer;
  before(async () => {
    // Each test below is about an engine answer on the engine path; with the
    // cache on, a Get would not ask. The cache has its own tests (container-cache.test.ts).
    server = await startFastServer({ env: { OSIRIS_CONTAINER_CACHE: "off" } });
  });
  after(() => server.close());

  const client = () => server.client("grpc");
  const runningManaged = (name: string) => server.engine.addContainer({ name, labels: managed, state: "running" });

  it("answers NOT_FOUND naming the container to Get, Stop, Start, Restart, Remove and Wait of a container that does not exist", async () => {
    const c = client();
    for (const call of [
      () => c.getDockerContainer({ container: "absent" }),
      () => c.stopDockerContainer({ container: "absent" }),
      () => c.startDockerContainer({ container: "absent" }),
      () => c.restartDockerContainer({ container: "absent" }),
      () => c.removeDockerContainer({ container: "absent" }),
      () => c.waitDockerContainer({ container: "absent" }),
    ]) {
      const error = await rpcError(call());
      assert.equal(error.code, Code.NotFound);
      assert.equal(error.rawMessage, 'Container not found: "absent"');
    }
  });

  it("answers ALREADY_EXISTS when a Run's name is taken, and leaves the first container alone", async () => {
    const first = await client().runDockerContainer({ image: testImage, name: "taken" });
    const error = await rpcError(client().runDockerContainer({ image: testImage, name: "taken" }));
    assert.equal(error.code, Code.AlreadyExists);
    assert.equal(error.rawMessage, 'Container name already in use: "taken"');
    assert.equal(server.engine.inspect("taken")?.Id, first.container?.id);
    assert.equal(server.engine.inspect("taken")?.State.Running, true);
  });

  it("answers FAILED_PRECONDITION to Stop of an exited container, and reports it with ignore_already_stopped", async () => {
    const id = server.engine.addContainer({ name: "exited", labels: managed, state: "exited", exitCode: 4 });
    const error = await rpcError(client().stopDockerContainer({ container: "exited" }));
    assert.equal(error.code, Code.FailedPrecondition);
    assert.equal(error.rawMessage, 'Container already stopped: "exited"');
    const ignored = await client().stopDockerContainer({ container: id, ignoreAlreadyStopped: true });
    assert.equal(ignored.alreadyStopped, true);
    assert.equal(ignored.container?.state, ContainerState.EXITED);
    assert.equal(ignored.container?.exitCode, 4);
    assert.equal(server.engine.inspect("exited")?.State.ExitCode, 4, "and the container is as it was");
  });

  it("treats a created but never started container as already stopped", async () => {
    server.engine.addContainer({ name: "never-started", labels: managed });
    assert.equal((await rpcError(client().stopDockerContainer({ container: "never-started" }))).code, Code.FailedPrecondition);
    const ignored = await client().stopDockerContainer({ container: "never-started", ignoreAlreadyStopped: true });
    assert.equal(ignored.container?.state, ContainerState.CREATED);
  });

  it("answers FAILED_PRECONDITION to Start of a running container, and reports it with ignore_already_running", async () => {
    runningManaged("started-twice");
    const error = await rpcError(client().startDockerContainer({ container: "started-twice" }));
    assert.equal(error.code, Code.FailedPrecondition);
    assert.equal(error.rawMessage, 'Container already running: "started-twice"');
    const ignored = await client().startDockerContainer({ container: "started-twice", ignoreAlreadyRunning: true });
    assert.equal(ignored.alreadyRunning, true);
  });

  it("answers FAILED_PRECONDITION naming the port when a Run's host port is taken, and removes the container it made", async () => {
    const holder = await client().runDockerContainer({ image: testImage, ports: [{ containerPort: 80, hostIp: "127.0.0.1" }] });
    const taken = holder.container!.ports[0]!.hostPort;
    const before = server.engine.containerIds().length;
    const error = await rpcError(
      client().runDockerContainer({ image: testImage, name: "port-clash", ports: [{ containerPort: 80, hostPort: taken, hostIp: "127.0.0.1" }] }),
    );
    assert.equal(error.code, Code.FailedPrecondition);
    assert.equal(error.rawMessage, `Host port already allocated: ${taken}`);
    assert.equal(server.engine.inspect("port-clash"), undefined, "the created container was removed");
    assert.equal(server.engine.containerIds().length, before);
  });

  it("answers FAILED_PRECONDITION when the engine cannot start the container (missing executable), and removes it", async () => {
    server.engine.failNext(
      "startContainer",
      dockerodeError(
        400,
        'failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/no/such": stat /no/such: no such file or directory: unknown',
        "bad parameter",
      ),
    );
    const error = await rpcError(client().runDockerContainer({ image: testImage, name: "no-binary", command: ["/no/such"] }));
    assert.equal(error.code, Code.FailedPrecondition);
    assert.match(error.rawMessage, /^Container failed to start: .*no such file or directory/);
    assert.equal(server.engine.inspect("no-binary"), undefined);
  });

  it("answers FAILED_PRECONDITION to Remove of a running container without force, and leaves it", async () => {
    runningManaged("busy");
    const error = await rpcError(client().removeDockerContainer({ container: "busy" }));
    assert.equal(error.code, Code.FailedPrecondition);
    assert.match(error.rawMessage, /^Cannot remove container "busy": You cannot remove a running container/);
    assert.equal(server.engine.inspect("busy")?.State.Running, true);
  });

  it("answers NOT_FOUND for a missing image under pull_policy NEVER, without pulling", async () => {
    const pulls = server.engine.calls.pullImage;
    const error = await rpcError(client().runDockerContainer({ image: "osiris-test/absent:1.0", pullPolicy: 3 }));
    assert.equal(error.code, Code.NotFound);
    assert.match(error.rawMessage, /^Image not found: "osiris-test\/absent:1.0"/);
    assert.equal(server.engine.calls.pullImage, pulls);
  });

  it("answers UNAVAILABLE naming the engine on every RPC while it is down, and serves again once it is back", async () => {
    runningManaged("outage");
    server.engine.down();
    try {
      const c = client();
      for (const call of [
        () => c.getDockerContainer({ container: "outage" }),
        () => c.listDockerContainers({}),
        () => c.runDockerContainer({ image: testImage }),
        () => c.stopDockerContainer({ container: "outage" }),
        () => c.startDockerContainer({ container: "outage" }),
        () => c.removeDockerContainer({ container: "outage", force: true }),
        () => c.waitDockerContainer({ container: "outage" }),
      ]) {
        const error = await rpcError(call());
        assert.equal(error.code, Code.Unavailable);
        assert.equal(error.rawMessage, `Docker engine unreachable at ${server.engine.endpoint}: ECONNREFUSED`);
      }
    } finally {
      server.engine.up();
    }
    assert.equal((await client().getDockerContainer({ container: "outage" })).container?.state, ContainerState.RUNNING);
  });

  it("answers UNAVAILABLE when one engine call cannot connect, whatever the socket error", async () => {
    for (const code of ["ECONNREFUSED", "ENOENT", "EACCES", "ECONNRESET"]) {
      server.engine.failNext("inspectContainer", { code });
      const error = await rpcError(client().getDockerContainer({ container: "anything" }));
      assert.equal(error.code, Code.Unavailable, code);
      assert.match(error.rawMessage, new RegExp(code));
    }
  });

  it("answers UNAVAILABLE when the engine says it is shutting down", async () => {
    server.engine.failNext("listContainers", { statusCode: 503, json: { message: "daemon is shutting down" } });
    assert.equal((await rpcError(client().listDockerContainers({}))).code, Code.Unavailable);
  });

  it("answers INVALID_ARGUMENT when the engine refuses a request as malformed (400)", async () => {
    server.engine.failNext("listContainers", { statusCode: 400, json: { message: "Invalid filter 'label'" } });
    const error = await rpcError(client().listDockerContainers({}));
    assert.equal(error.code, Code.InvalidArgument);
    assert.equal(error.rawMessage, "Invalid filter 'label'");
  });

  it("answers INTERNAL naming the operation for an engine failure it cannot classify", async () => {
    server.engine.failNext("inspectContainer", { statusCode: 500, json: { message: "devmapper: thin pool full" } });
    const error = await rpcError(client().getDockerContainer({ container: "anything" }));
    assert.equal(error.code, Code.Internal);
    assert.equal(error.rawMessage, "Docker engine failed to inspect container: devmapper: thin pool full");
  });

  it("answers INTERNAL without internals for an unexpected failure, and logs it", async () => {
    server.engine.failNext("inspectContainer", new TypeError("Cannot read properties of undefined (reading 'State')"));
    const error = await rpcError(client().getDockerContainer({ container: "anything" }));
    assert.equal(error.code, Code.Internal);
    assert.equal(error.rawMessage, "Internal error; the server log has details");
    assert.ok(server.logLines.some((line) => line.includes("reading 'State'")), "the log has the cause");
  });

  it("answers DEADLINE_EXCEEDED when the engine stalls past the client's deadline, and gives up the engine call", async () => {
    const release = server.engine.hang("inspectContainer");
    try {
      const error = await rpcError(client().getDockerContainer({ container: "stalled" }, { timeoutMs: 100 }));
      assert.equal(error.code, Code.DeadlineExceeded);
      assert.ok(await eventually(() => server.engine.aborted.inspectContainer === 1), "the stalled engine request was aborted");
    } finally {
      release();
    }
  });

  describe("an id prefix that matches several containers", () => {
    const id = (prefix: string, fill: string) => prefix + fill.repeat(64 - prefix.length);

    it("answers INVALID_ARGUMENT naming container when several managed containers match", async () => {
      server.engine.addContainer({ id: id("abc1", "0"), labels: managed });
      server.engine.addContainer({ id: id("abc2", "0"), labels: managed });
      const error = await rpcError(client().getDockerContainer({ container: "abc" }));
      assert.equal(error.code, Code.InvalidArgument);
      assert.deepEqual(badRequestFields(error), ["container"]);
      assert.match(error.rawMessage, /matches more than one container; give more characters of the id, or the name/);
      assert.equal((await client().getDockerContainer({ container: "abc1" })).container?.id, id("abc1", "0"));
    });

    it("resolves to the one managed container when the others sharing the prefix are unmanaged, without revealing them", async () => {
      server.engine.addContainer({ id: id("dd1", "0"), labels: managed });
      server.engine.addContainer({ id: id("dd2", "0") });
      server.engine.addContainer({ id: id("dd3", "0") });
      assert.equal((await client().getDockerContainer({ container: "dd" })).container?.id, id("dd1", "0"));
    });

    it("answers NOT_FOUND when only unmanaged containers match, as if they did not exist", async () => {
      server.engine.addContainer({ id: id("ee1", "0") });
      server.engine.addContainer({ id: id("ee2", "0") });
      const error = await rpcError(client().getDockerContainer({ container: "ee" }));
      assert.equal(error.code, Code.NotFound);
      assert.equal(error.rawMessage, 'Container not found: "ee"');
    });
  });
});
