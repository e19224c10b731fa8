import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createClient, type ConnectError } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { DockerService } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import {
  containerExists,
  docker,
  eventually,
  exitsOnSigint,
  newTestRun,
  removeTestContainers,
  testImage,
} from "../support/engine-fixtures.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";

/** The instance id a server process logs at start; its containers carry it as io.osiris.instance. */
function instanceOf(server: ServerProcess): string {
  const id = /"instance":"([0-9a-f]+)"/.exec(server.output())?.[1];
  assert.ok(id, `the server logs its instance id:\n${server.output()}`);
  return id;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("several Osiris processes on one engine", () => {
  it("completes every Run of one server while another restarts six times, sweeping often", async (t) => {
    const run = newTestRun();
    // The restarting one sweeps at every start and every 100 ms, with an age far beyond a Run's create-to-start.
    const sweeper = { OSIRIS_ABANDONED_RUN_AGE_MS: "5000", OSIRIS_ABANDONED_RUN_SWEEP_MS: "100" };
    const survivor = await startServerProcess();
    let restarting = await startServerProcess(sweeper);
    const failures: string[] = [];
    let runs = 0;
    try {
      const client = createClient(DockerService, createGrpcTransport({ baseUrl: survivor.url }));
      let restarted = 0;
      const restarts = (async () => {
        for (; restarted < 6; restarted++) {
          await restarting.stop("SIGTERM");
          restarting = await startServerProcess(sweeper);
        }
      })();
      // Four loops keep some Run between its create and its start most of the time.
      const loop = async () => {
        while ((restarted < 6 || runs < 20) && runs < 1000) {
          runs++;
          try {
            const { container } = await client.runDockerContainer({ image: testImage, command: exitsOnSigint(0), labels: run.labels });
            await docker.getContainer(container!.id).remove({ force: true });
          } catch (error) {
            failures.push((error as ConnectError).message);
          }
        }
      };
      await Promise.all([restarts, loop(), loop(), loop(), loop()]);
      t.diagnostic(`${runs} runs while the other server restarted ${restarted} times`);
      assert.ok(runs >= 20, `${runs} runs`);
      assert.deepEqual(failures, [], `${failures.length} of ${runs} runs failed`);
    } finally {
      await Promise.all([survivor.stop(), restarting.stop()]);
      await removeTestContainers(run.id);
    }
  });

  it("removes a SIGKILLed instance's created leftovers once past the age, and leaves younger or hand-made ones", async (t) => {
    const run = newTestRun();
    const ageMs = 10_000;
    let survivor: ServerProcess | undefined;
    try {
      const killed = await startServerProcess();
      const deadInstance = instanceOf(killed);
      assert.equal(await killed.stop("SIGKILL"), null);
      // What the killed instance left between a create and its start.
      const leftover = (suffix: string) =>
        docker.createContainer({
          Image: testImage,
          name: run.name(suffix),
          Cmd: exitsOnSigint(0),
          Labels: { ...run.labels, "io.osiris.managed": "true", "io.osiris.instance": deadInstance },
        });
      const old = await leftover("old");
      const handMade = await docker.createContainer({
        Image: testImage,
        name: run.name("hand-made"),
        Cmd: exitsOnSigint(0),
        Labels: { ...run.labels, "io.osiris.managed": "true" },
      });
      await delay(ageMs / 2);
      const young = await leftover("young");
      const youngCreated = Date.parse((await young.inspect()).Created);

      survivor = await startServerProcess({ OSIRIS_ABANDONED_RUN_AGE_MS: String(ageMs), OSIRIS_ABANDONED_RUN_SWEEP_MS: "250" });
      assert.ok(await eventually(async () => !(await containerExists(old.id)), 60_000), "the old leftover is removed");
      const youngAgeMs = Date.now() - youngCreated;
      if (youngAgeMs < ageMs - 1000) {
        assert.equal(await containerExists(young.id), true, `a leftover ${youngAgeMs} ms old is kept`);
      } else {
        t.diagnostic(`the machine was too slow to check the young leftover before its age (${youngAgeMs} ms)`);
      }
      assert.match(survivor.output(), new RegExp(`"containerId":"${old.id}".*"instance":"${deadInstance}".*removed a container left created`));

      // The sweep repeats: the young one goes too, once past the age, without a restart.
      assert.ok(await eventually(async () => !(await containerExists(young.id)), 60_000), "the young leftover is removed once old");
      assert.equal(await containerExists(handMade.id), true, "a managed container no Run made is not Osiris's to sweep");
    } finally {
      await survivor?.stop();
      await removeTestContainers(run.id);
    }
  });
});
