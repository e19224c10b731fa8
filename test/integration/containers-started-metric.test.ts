import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { exitsOnSigint, newTestRun, removeTestContainers, testImage } from "../support/engine-fixtures.js";
import { metric } from "../support/server-metrics.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

describe("osiris_containers_started_total against a real engine", () => {
  const run = newTestRun();
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server.close();
  });

  const started = () => metric(server.baseUrl, "osiris_containers_started_total");

  it("counts a Run retried with the same request_id once, as the one container it started", async () => {
    const client = server.client("grpc");
    const request = { image: testImage, command: exitsOnSigint(0), labels: run.labels, requestId: `retry-${run.id}` };
    const before = await started();
    const first = await client.runDockerContainer(request);
    const retry = await client.runDockerContainer(request);
    assert.equal(retry.container?.id, first.container?.id, "the retry found the first Run's container");
    assert.equal(await started(), before + 1);
  });

  it("counts each Run without a request_id", async () => {
    const client = server.client("grpc");
    const before = await started();
    for (let i = 0; i < 2; i++) await client.runDockerContainer({ image: testImage, command: exitsOnSigint(0), labels: run.labels });
    assert.equal(await started(), before + 2);
  });
});
