import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { ContainerState } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { startFastServer, type FastServer } from "../support/fast-server.js";
import { rpcError, streamError } from "./expectations.js";

describe("managed scope: a container Osiris did not make does not exist for callers", () => {
  let server: FastServer;
  let id: string;
  before(async () => {
    server = await startFastServer();
    id = server.engine.addContainer({ name: "cli-made", labels: { "io.osiris.managed": "false" }, state: "running" });
  });
  after(() => server.close());

  it("answers NOT_FOUND to every RPC naming it, by name, id or id prefix, and changes nothing on the engine", async () => {
    const client = server.client("grpc");
    for (const reference of ["cli-made", id, id.slice(0, 12)]) {
      for (const call of [
        () => client.getDockerContainer({ container: reference }),
        () => client.stopDockerContainer({ container: reference }),
        () => client.startDockerContainer({ container: reference }),
        () => client.restartDockerContainer({ container: reference }),
        () => client.removeDockerContainer({ container: reference, force: true }),
        () => client.waitDockerContainer({ container: reference }),
      ]) {
        const error = await rpcError(call());
        assert.equal(error.code, Code.NotFound);
        assert.equal(error.rawMessage, `Container not found: ${JSON.stringify(reference)}`);
      }
      assert.equal((await streamError(client.streamDockerContainerLogs({ container: reference }))).code, Code.NotFound);
    }
    const { stopContainer, startContainer, restartContainer, removeContainer, killContainer, waitContainer, containerLogs } = server.engine.calls;
    assert.deepEqual([stopContainer, startContainer, restartContainer, removeContainer, killContainer, waitContainer, containerLogs], [0, 0, 0, 0, 0, 0, 0]);
    assert.equal(server.engine.inspect(id)?.State.Running, true);
  });

  it("hides it from List", async () => {
    assert.deepEqual((await server.client("connect-json").listDockerContainers({ all: true })).containers, []);
  });
});

describe("all scope (OSIRIS_SCOPE=all): every container on the engine", () => {
  let server: FastServer;
  before(async () => {
    server = await startFastServer({ env: { OSIRIS_SCOPE: "all" } });
    server.engine.addContainer({ name: "cli-made", state: "running" });
  });
  after(() => server.close());

  it("stops a container the docker CLI made", async () => {
    const stopped = await server.client("grpc").stopDockerContainer({ container: "cli-made", timeoutSeconds: 0 });
    assert.equal(stopped.container?.state, ContainerState.EXITED);
    assert.equal(server.engine.inspect("cli-made")?.State.Running, false);
  });
});
