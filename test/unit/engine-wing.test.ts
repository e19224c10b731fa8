import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { connectEngine } from "../../server/containers/engine/dockerode-engine-client.js";
import { engineCall } from "../../server/containers/engine/engine-call.js";
import type { EngineClient } from "../../server/containers/engine/engine-client.js";
import { engineHttpError, translateEngineError } from "../../server/containers/engine/engine-errors.js";
import { timedEngineClient } from "../../server/containers/engine/timed-engine-client.js";
import { ContainerNotFoundError, ImageNotFoundError } from "../../server/containers/errors.js";

const endpoint = "unix:///var/run/docker.sock";

describe("engine errors name what the caller asked for", () => {
  it("a create that finds no such image names the image, not the engine's message", () => {
    const error = translateEngineError(
      engineHttpError(404, "No such image: busybox:1.36"),
      { kind: "create-container", name: "web", image: "busybox:1.36" },
      endpoint,
    );
    assert.ok(error instanceof ImageNotFoundError, String(error));
    assert.equal(error.image, "busybox:1.36");
    assert.equal(error.message, 'Image not found: "busybox:1.36"');
  });
});

describe("engineCall", () => {
  const engine = { endpoint } as EngineClient;

  it("fails with the caller's abort reason once its signal has fired, whatever the engine answered", async () => {
    const caller = new AbortController();
    const reason = new Error("deadline exceeded");
    caller.abort(reason);
    const failed = engineCall(engine, { kind: "inspect-container", container: "web" }, caller.signal, () =>
      Promise.reject(engineHttpError(404, "No such container: web")),
    );
    await assert.rejects(failed, (error) => error === reason);
  });

  it("turns any other failure into the container service's error for the operation", async () => {
    const failed = engineCall(engine, { kind: "inspect-container", container: "web" }, new AbortController().signal, () =>
      Promise.reject(engineHttpError(404, "No such container: web")),
    );
    await assert.rejects(failed, (error) => error instanceof ContainerNotFoundError && error.container === "web");
  });
});

describe("timedEngineClient", () => {
  it("times every engine operation under its engine request, with its outcome, and passes answers through", async () => {
    const calls: string[] = [];
    const fake = new Proxy({ endpoint } as EngineClient, {
      get: (target, property) =>
        property === "endpoint"
          ? target.endpoint
          : (...args: unknown[]) => (args[0] === "fail" ? Promise.reject(new Error("boom")) : Promise.resolve(`answer of ${String(property)}`)),
    });
    const timed = timedEngineClient(fake, (operation, seconds, outcome) => {
      assert.ok(seconds >= 0);
      calls.push(`${operation} ${outcome}`);
    });
    assert.equal(timed.endpoint, endpoint);
    assert.equal(await timed.inspectContainer("web"), "answer of inspectContainer");
    await assert.rejects(timed.inspectContainer("fail"), /boom/);
    await timed.removeContainer("web", { force: true, removeVolumes: true });
    await timed.events({ since: "0", filters: {} }, new AbortController().signal);
    assert.deepEqual(calls, [
      "GET /containers/{id}/json ok",
      "GET /containers/{id}/json error",
      "DELETE /containers/{id} ok",
      "GET /events ok",
    ]);
  });
});

describe("DockerodeEngineClient (fake engine on loopback)", () => {
  it("reports the engine's 304 and 409 as outcomes and a missing volume as undefined, so no caller reads a status code", async () => {
    const answers: Record<string, number> = {
      "POST /containers/web/start": 304,
      "POST /containers/web/stop": 304,
      "POST /containers/web/kill": 409,
      "GET /volumes/data": 404,
    };
    const server = http.createServer((request, response) => {
      const key = `${request.method} ${(request.url ?? "").split("?")[0]}`;
      const status = answers[key] ?? 500;
      response.writeHead(status, { "content-type": "application/json" }).end(status === 304 ? undefined : '{"message":"no"}');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const engine = connectEngine(`tcp://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const signal = new AbortController().signal;
    try {
      assert.equal(await engine.startContainer("web", signal), "already-running");
      assert.equal(await engine.stopContainer("web", {}, signal), "already-stopped");
      assert.equal(await engine.killContainer("web", "SIGTERM", signal), "not-running");
      assert.equal(await engine.inspectVolume("data", signal), undefined);
      await assert.rejects(engine.restartContainer("web", {}, signal), (error: { statusCode?: number }) => error.statusCode === 500);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
