import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ContainerState, DockerService } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { docker, eventually, exitsOnSigint, newTestRun, removeTestContainers, testImage } from "../support/engine-fixtures.js";
import { runCommand } from "../support/server-process.js";

/** Built by test/support/environment.sh from this machine's node: there is no registry to pull node from. */
const nodeBaseImage = "osiris-test/node-base:latest";
const token = "container-image-test-token";

describe("Osiris as a Docker image (built and run on the host engine)", () => {
  const run = newTestRun();
  const image = `osiris-test/osiris:${run.id}`;
  let baseUrl: string;

  before(async () => {
    const build = await runCommand("docker", ["build", "--quiet", "--build-arg", `NODE_IMAGE=${nodeBaseImage}`, "-t", image, "."], {}, 300_000);
    assert.equal(build.code, 0, build.output);
    const started = await runCommand("docker", [
      "run", "--detach", "--restart", "unless-stopped", "--name", run.name("osiris"), "--label", `osiris-test.run=${run.id}`,
      "--volume", "/var/run/docker.sock:/var/run/docker.sock",
      "--group-add", String(statSync("/var/run/docker.sock").gid),
      "--publish", "127.0.0.1::8080",
      "--env", `OSIRIS_TOKENS=${JSON.stringify([{ principal: "image-test", role: "operator", token }])}`,
      image,
    ]);
    assert.equal(started.code, 0, started.output);
    const inspect = await docker.getContainer(run.name("osiris")).inspect();
    const port = inspect.NetworkSettings.Ports["8080/tcp"]?.[0]?.HostPort;
    baseUrl = `http://127.0.0.1:${port}`;
    // Docker's own HEALTHCHECK says when it serves; polling the port before that hangs on docker-proxy.
    const osiris = docker.getContainer(run.name("osiris"));
    assert.ok(await eventually(async () => (await osiris.inspect()).State.Health?.Status === "healthy", 60_000), "healthy");
    assert.equal((await fetch(`${baseUrl}/readyz`)).status, 200);
  });

  after(async () => {
    await removeTestContainers(run.id);
    await docker.getImage(image).remove({ force: true }).catch(() => undefined);
  });

  it("runs and stops a container through the containerized server", async () => {
    const client = createClient(DockerService, createGrpcTransport({ baseUrl }));
    const auth = { headers: { authorization: `Bearer ${token}` } };
    const { container } = await client.runDockerContainer({ image: testImage, command: exitsOnSigint(0), labels: run.labels }, auth);
    assert.equal(container?.state, ContainerState.RUNNING);
    const stopped = await client.stopDockerContainer({ container: container!.id, signal: "INT" }, auth);
    assert.equal(stopped.container?.state, ContainerState.EXITED);
  });

  it("comes back by its restart policy after its process exits, and serves again", async () => {
    const osiris = docker.getContainer(run.name("osiris"));
    const killed = await runCommand("docker", ["exec", run.name("osiris"), "kill", "-TERM", "1"]);
    assert.equal(killed.code, 0, killed.output);
    assert.ok(await eventually(async () => (await osiris.inspect()).RestartCount >= 1, 60_000), "restarted by the engine");
    assert.ok(await eventually(async () => (await osiris.inspect()).State.Health?.Status === "healthy", 60_000), "healthy again");
    // An engine-chosen host port may change across a restart.
    const port = (await osiris.inspect()).NetworkSettings.Ports["8080/tcp"]?.[0]?.HostPort;
    baseUrl = `http://127.0.0.1:${port}`;
    const client = createClient(DockerService, createGrpcTransport({ baseUrl }));
    const listed = await client.listDockerContainers({ labelSelector: run.labels }, { headers: { authorization: `Bearer ${token}` } });
    assert.ok(Array.isArray(listed.containers));
  });

  it("runs as a non-root user and is healthy by its HEALTHCHECK", async () => {
    const inspect = await docker.getContainer(run.name("osiris")).inspect();
    assert.equal(inspect.Config.User, "1000:1000");
    assert.equal(inspect.State.Health?.Status, "healthy");
  });
});
