import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { exitsOnSigint, newTestRun, removeTestContainers, testImage } from "../support/engine-fixtures.js";
import { rpcError } from "../support/rpc-assertions.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

describe("unary calls in flight when the server closes", () => {
  const run = newTestRun();
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => void warnings.push(warning);
  let server: TestServer;
  before(async () => {
    process.on("warning", onWarning);
    server = await startTestServer(undefined, { shutdownTimeoutMs: 1000, maxInFlightPerPrincipal: 100 });
  });
  after(async () => {
    process.off("warning", onWarning);
    await removeTestContainers(run.id);
  });

  it("leaves Node's process-wide default of ten listeners alone", () => {
    assert.equal(EventEmitter.defaultMaxListeners, 10);
  });

  it("holds 30 calls without a MaxListenersExceededWarning, and ends them UNAVAILABLE once the grace period is over", async () => {
    const client = server.client("connect-json");
    const { container } = await client.runDockerContainer({ image: testImage, command: exitsOnSigint(0), labels: run.labels });
    // Each Wait stays in flight until the container exits, which it does not here.
    const waits = Array.from({ length: 30 }, () => rpcError(client.waitDockerContainer({ container: container!.id })));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await server.close();
    for (const error of await Promise.all(waits)) {
      assert.equal(error.code, Code.Unavailable, error.message);
      assert.match(error.rawMessage, /shutting down/);
    }
    assert.deepEqual(
      warnings.filter((warning) => warning.name === "MaxListenersExceededWarning").map((warning) => warning.message),
      [],
    );
  });
});
