import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ContainerState, DockerService } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { docker, eventually, exitsOnSigint, newTestRun, removeTestContainers, testImage } from "../support/engine-fixtures.js";
import { runCommand } from "../support/server-process.js";

/**
 * Built by test/support/environment.sh, as there is no registry to pull node from nor to
 * run `npm ci` against: the base from the project's node (node_modules/.bin/node), and a
 * build image that is the base plus an offline npm cache of the production dependencies.
 */
const nodeBaseImage = "osiris-test/node-base:latest";
const nodeBuildImage = "osiris-test/node-build:latest";
const token = "container-image-test-token";

/** The build context size as the builder reports it ("Sending build context to Docker daemon  708.1kB"). */
function contextBytes(buildOutput: string): number | undefined {
  const match = /(?:Sending build context to Docker daemon|transferring context:)\s+([\d.]+)\s*([kMG]?B)/.exec(buildOutput);
  if (!match) return undefined;
  const unit = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[match[2]!] ?? Number.NaN;
  return Number(match[1]) * unit;
}

function majorOf(version: string): string {
  return /(\d+)/.exec(version)?.[1] ?? `unparsed: ${version}`;
}

describe("Osiris as a Docker image (built and run on the host engine)", () => {
  const run = newTestRun();
  const image = `osiris-test/osiris:${run.id}`;
  let baseUrl: string;
  let buildOutput: string;

  before(async () => {
    const build = await runCommand(
      "docker",
      ["build", "--build-arg", `NODE_IMAGE=${nodeBaseImage}`, "--build-arg", `BUILD_IMAGE=${nodeBuildImage}`, "-t", image, "."],
      {},
      300_000,
    );
    assert.equal(build.code, 0, `${build.output}\n(the base images come from: bash test/support/environment.sh test)`);
    buildOutput = build.output;
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

  it("sends a build context without node_modules: under 5 MB", () => {
    const bytes = contextBytes(buildOutput);
    assert.ok(bytes !== undefined, `no context size in the build output:\n${buildOutput}`);
    assert.ok(bytes < 5e6, `build context is ${bytes} bytes; .dockerignore should leave out all but package*.json, gen/ and server/`);
  });

  it("runs the Node major the project runs on: the Dockerfile's default base, the image, and the node devDependency agree", async () => {
    const packageJson = JSON.parse(readFileSync("package.json", "utf8")) as { devDependencies: Record<string, string> };
    const projectMajor = majorOf(packageJson.devDependencies["node"] ?? "missing");
    const dockerfileBase = /^ARG NODE_IMAGE=node:(\d+)/m.exec(readFileSync("Dockerfile", "utf8"))?.[1];
    assert.equal(dockerfileBase, projectMajor);
    const inImage = await runCommand("docker", ["run", "--rm", "--label", `osiris-test.run=${run.id}`, "--entrypoint", "node", image, "--version"]);
    assert.equal(inImage.code, 0, inImage.output);
    assert.equal(majorOf(inImage.output), projectMajor);
    assert.equal(majorOf(process.version), projectMajor, "the tests themselves run on the project's node (npm scripts put node_modules/.bin first)");
  });

  it("runs as a non-root user and is healthy by its HEALTHCHECK", async () => {
    const inspect = await docker.getContainer(run.name("osiris")).inspect();
    assert.equal(inspect.Config.User, "1000:1000");
    assert.equal(inspect.State.Health?.Status, "healthy");
  });
});
