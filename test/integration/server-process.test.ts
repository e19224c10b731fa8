import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  containerExists,
  docker,
  eventually,
  exitsOnSigint,
  newTestRun,
  removeTestContainers,
  testImage,
} from "../support/engine-fixtures.js";
import { runCommand, startServerProcess, type ServerProcess } from "../support/server-process.js";
import { settingsHelp } from "../../server/config.js";

async function removeByName(name: string): Promise<void> {
  await docker.getContainer(name).remove({ force: true }).catch(() => undefined);
}

describe("the server process, as `npm start` runs it", () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess();
  });
  after(async () => {
    await server.stop();
  });

  it("serves the curl example: run, fetch the published page, stop", async () => {
    const name = `osiris-test-curl-example-${process.pid}`;
    try {
      const result = await runCommand("bash", ["client-examples/curl/run-and-stop.sh"], { OSIRIS_URL: server.url, NAME: name });
      assert.equal(result.code, 0, result.output);
      assert.match(result.output, /"state":"CONTAINER_STATE_RUNNING"/);
      assert.match(result.output, /hello from curl/);
      assert.match(result.output, /"state":"CONTAINER_STATE_EXITED"/);
    } finally {
      await removeByName(name);
    }
  });

  it("serves the Node gRPC example: run then stop with exit code 0", async () => {
    const name = `osiris-test-grpc-example-${process.pid}`;
    try {
      const result = await runCommand(process.execPath, ["--import", "tsx", "client-examples/node/run-and-stop.ts", "--url", server.url, "--name", name]);
      assert.equal(result.code, 0, result.output);
      assert.match(result.output, /started .*: RUNNING/);
      assert.match(result.output, /stopped .*: EXITED, exit code 0/);
    } finally {
      await removeByName(name);
    }
    assert.equal(await containerExists(name), false);
  });

  it("exits 0 on SIGTERM", async () => {
    const own = await startServerProcess();
    assert.equal(await own.stop("SIGTERM"), 0);
  });
});

describe("starting the server", () => {
  it("removes containers a run created and never started once past OSIRIS_ABANDONED_RUN_AGE_MS, and nothing else", async () => {
    const run = newTestRun();
    // As a Run labels them; the instance that made them is gone.
    const managed = { ...run.labels, "io.osiris.managed": "true", "io.osiris.instance": "0123456789ab" };
    try {
      const abandoned = await docker.createContainer({ Image: testImage, name: run.name("abandoned"), Cmd: ["true"], Labels: managed });
      const completed = await docker.createContainer({ Image: testImage, name: run.name("completed"), Cmd: exitsOnSigint(0), Labels: managed });
      await completed.start();
      const foreign = await docker.createContainer({ Image: testImage, name: run.name("foreign"), Cmd: ["true"], Labels: run.labels });
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const server = await startServerProcess({ OSIRIS_ABANDONED_RUN_AGE_MS: "1000" });
      const removed = await eventually(async () => !(await containerExists(abandoned.id)), 30_000);
      await server.stop();
      assert.ok(removed, "the abandoned run was removed");
      assert.match(server.output(), new RegExp(`"containerId":"${abandoned.id}".*removed a container left created`));
      assert.equal((await completed.inspect()).State.Running, true, "a completed run is untouched");
      assert.equal(await containerExists(foreign.id), true, "an unmanaged container is untouched");
    } finally {
      await removeTestContainers(run.id);
    }
  });

  it("exits at start with a message naming a bad setting", async () => {
    const result = await runCommand(process.execPath, ["--import", "tsx", "server/main.ts"], { OSIRIS_LISTEN: "nonsense" });
    assert.equal(result.code, 2);
    assert.match(result.output, /OSIRIS_LISTEN/);
  });

  it("prints the help generated from the settings declaration for --help, and exits 0 without serving", async () => {
    // That the help covers every declared setting is test/unit/settings.test.ts's; this proves the process prints it.
    const result = await runCommand(process.execPath, ["--import", "tsx", "server/main.ts", "--help"]);
    assert.equal(result.code, 0);
    assert.equal(result.output, settingsHelp);
  });

  it("starts without an engine, warns, and answers UNAVAILABLE until one is there", async () => {
    const endpoint = "unix:///tmp/osiris-test-absent-engine.sock";
    const server = await startServerProcess({ DOCKER_HOST: endpoint });
    try {
      assert.match(server.output(), /Docker engine unreachable at unix:\/\/\/tmp\/osiris-test-absent-engine.sock/);
      const response = await fetch(`${server.url}/osiris.docker.v1.DockerService/StopDockerContainer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ container: "web" }),
      });
      assert.equal(response.status, 503);
      const body = (await response.json()) as { code: string; message: string };
      assert.equal(body.code, "unavailable");
      assert.match(body.message, /^Docker engine unreachable at unix:\/\/\/tmp\/osiris-test-absent-engine.sock/);
    } finally {
      await server.stop();
    }
  });
});
