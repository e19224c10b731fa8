import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { DockerService } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { eventually, newTestRun, removeTestContainers, testContainerIds, testImage } from "../support/engine-fixtures.js";
import { openFiles, residentMegabytes, steadyMemoryOptions } from "../support/process-stats.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";

const cycles = 300;
const concurrency = 32;

/** Transports that let go of their connections soon after the load, so the server's descriptors can settle. */
function transport(baseUrl: string, index: number): Transport {
  switch (index % 3) {
    case 0:
      return createGrpcTransport({ baseUrl, idleConnectionTimeoutMs: 500 });
    case 1:
      return createGrpcWebTransport({ baseUrl, httpVersion: "1.1" });
    default:
      return createConnectTransport({ baseUrl, httpVersion: "1.1" });
  }
}

describe("load: two rounds of 300 Run→Stop→Remove cycles from 32 concurrent clients over the three protocols", () => {
  const run = newTestRun();
  let server: ServerProcess;
  const pid = () => server.child.pid!;

  before(async () => {
    server = await startServerProcess({ ...steadyMemoryOptions, OSIRIS_RATE_LIMIT: "100000" });
  });
  after(async () => {
    await server.stop();
    await removeTestContainers(run.id);
  });

  it("has no unexpected error, leaves nothing behind, and returns to its baseline of descriptors and memory", async (t) => {
    const cycle = async (client: Client<typeof DockerService>) => {
      const { container } = await client.runDockerContainer({ image: testImage, command: ["sleep", "60"], labels: run.labels });
      await client.stopDockerContainer({ container: container!.id, timeoutSeconds: 0 });
      await client.removeDockerContainer({ container: container!.id });
    };
    // Warm up every path once, then let idle connections close before taking the baseline.
    const warmClients = [0, 1, 2].map((i) => createClient(DockerService, transport(server.url, i)));
    for (const client of warmClients) await cycle(client);
    await new Promise((resolve) => setTimeout(resolve, 7000));
    const baseline = { files: openFiles(pid()), rss: residentMegabytes(pid()) };

    const clients = Array.from({ length: concurrency }, (_, i) => createClient(DockerService, transport(server.url, i)));
    /** One round of the load; the files and RSS of the server once its descriptors have settled. */
    const round = async (label: string) => {
      let next = 0;
      let completed = 0;
      const errors: string[] = [];
      let peakFiles = 0;
      const started = Date.now();
      await Promise.all(
        clients.map(async (client) => {
          while (next < cycles) {
            next++;
            try {
              await cycle(client);
              completed++;
            } catch (error) {
              errors.push(String(error));
            }
            peakFiles = Math.max(peakFiles, openFiles(pid()));
          }
        }),
      );
      const seconds = (Date.now() - started) / 1000;
      assert.deepEqual(errors, [], `${label}: no unexpected error`);
      assert.equal(completed, cycles);
      assert.deepEqual(await testContainerIds(run.id), [], `${label}: no container left behind`);
      const settled = await eventually(async () => openFiles(pid()) <= baseline.files, 30_000);
      const after = { files: openFiles(pid()), rss: residentMegabytes(pid()) };
      t.diagnostic(
        `${label}: ${cycles} cycles in ${seconds.toFixed(1)} s; open files ${baseline.files} before, ${peakFiles} at peak, ${after.files} after; ` +
          `RSS ${baseline.rss.toFixed(0)} MB before, ${after.rss.toFixed(0)} MB after`,
      );
      assert.ok(settled, `${label}: descriptors return to ${baseline.files} (now ${after.files})`);
      return after;
    };
    // The first round grows the heap to its working size, which V8 keeps (Node 24 keeps more of it than
    // Node 20 did); the second must not grow it further. A leak of 32 KB a call would add 28 MB.
    const first = await round("first round");
    const second = await round("second round");
    assert.ok(second.rss - first.rss < 24, `RSS grows by less than 24 MB in the second round (${(second.rss - first.rss).toFixed(1)} MB)`);
  });
});
