import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { connectEngine } from "../../server/containers/engine/dockerode-engine-client.js";
import type { EngineClient } from "../../server/containers/engine/engine-client.js";
import { engineMessage, pullFailure, translateEngineError } from "../../server/containers/engine/engine-errors.js";
import {
  AmbiguousContainerReferenceError,
  ContainerNameConflictError,
  ContainerNotFoundError,
  ContainerStartError,
  EngineFailureError,
  EngineRejectedRequestError,
  EngineUnavailableError,
  HostPortAllocatedError,
  ImageNotFoundError,
  RegistryAuthError,
  RegistryUnavailableError,
} from "../../server/containers/errors.js";
import { toConnectError } from "../../server/rpc/errors.js";

const endpoint = "unix:///var/run/docker.sock";
const engineError = (statusCode: number, message: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), { statusCode, json: { message } });

const silentLog = { error() {} };

describe("engine errors become domain errors", () => {
  it("reads the engine's message from json or from dockerode's text", () => {
    assert.equal(engineMessage(engineError(404, "No such container: x")), "No such container: x");
    assert.equal(engineMessage(Object.assign(new Error("(HTTP code 500) server error - boom "), { statusCode: 500 })), "boom");
  });

  it("maps connection failures to an unavailable engine naming the endpoint", () => {
    const error = translateEngineError(Object.assign(new Error("connect ENOENT"), { code: "ENOENT" }), { kind: "start-container", container: "web" }, endpoint);
    assert.ok(error instanceof EngineUnavailableError);
    assert.match(error.message, /^Docker engine unreachable at unix:\/\/\/var\/run\/docker.sock/);
  });

  it("maps 404 on a container and 409 on create", () => {
    assert.ok(translateEngineError(engineError(404, "No such container: web"), { kind: "stop-container", container: "web" }, endpoint) instanceof ContainerNotFoundError);
    assert.ok(translateEngineError(engineError(409, "Conflict."), { kind: "create-container", name: "web", image: "busybox" }, endpoint) instanceof ContainerNameConflictError);
  });

  it("recognises both ways the engine reports a taken host port", () => {
    const byContainer = translateEngineError(
      engineError(500, "driver failed programming external connectivity on endpoint x (abc): Bind for 127.0.0.1:8080 failed: port is already allocated"),
      { kind: "start-container", container: "web" },
      endpoint,
    );
    assert.ok(byContainer instanceof HostPortAllocatedError);
    assert.equal(byContainer.port, "8080");
    const byProcess = translateEngineError(
      engineError(500, "Error starting userland proxy: listen tcp4 0.0.0.0:9090: bind: address already in use"),
      { kind: "start-container", container: "web" },
      endpoint,
    );
    assert.ok(byProcess instanceof HostPortAllocatedError);
    assert.equal(byProcess.port, "9090");
  });

  it("treats other start failures, 400 or 500, as a container that cannot start", () => {
    const error = translateEngineError(engineError(400, 'exec: "/nope": stat /nope: no such file or directory'), { kind: "start-container", container: "web" }, endpoint);
    assert.ok(error instanceof ContainerStartError);
  });

  it("classifies pull failures by the engine's message", () => {
    assert.ok(pullFailure("x", undefined, "manifest for x:1 not found: manifest unknown") instanceof ImageNotFoundError);
    assert.ok(pullFailure("x", 404, "repository x not found") instanceof ImageNotFoundError);
    assert.ok(pullFailure("x", undefined, "Get http://127.0.0.1:5999/v2/: dial tcp 127.0.0.1:5999: connect: connection refused") instanceof RegistryUnavailableError);
    const auth = pullFailure("x", 500, "Head ...: no basic auth credentials");
    assert.ok(auth instanceof RegistryAuthError && auth.refusal === "unauthenticated");
    const denied = pullFailure("x", undefined, "pull access denied for x, repository does not exist or may require 'docker login': denied: requested access to the resource is denied");
    assert.ok(denied instanceof RegistryAuthError && denied.refusal === "denied");
  });
});

describe("domain errors become status codes in one place", () => {
  for (const [error, code] of [
    [new ContainerNotFoundError("web"), Code.NotFound],
    [new ImageNotFoundError("busybox:1"), Code.NotFound],
    [new ContainerNameConflictError("web"), Code.AlreadyExists],
    [new HostPortAllocatedError("8080"), Code.FailedPrecondition],
    [new ContainerStartError("boom"), Code.FailedPrecondition],
    [new EngineUnavailableError(endpoint, "ENOENT"), Code.Unavailable],
    [new RegistryUnavailableError("x", "refused"), Code.Unavailable],
    [new RegistryAuthError("x", "unauthenticated", "no"), Code.Unauthenticated],
    [new RegistryAuthError("x", "denied", "no"), Code.PermissionDenied],
  ] as const) {
    it(`${error.name} is ${Code[code]}`, () => {
      const mapped = toConnectError(error, silentLog);
      assert.equal(mapped.code, code);
      assert.equal(mapped.rawMessage, error.message);
    });
  }

  it("hides unexpected errors behind INTERNAL without a stack trace", () => {
    const logged: unknown[] = [];
    const mapped = toConnectError(new TypeError("secret internals at foo.ts:1"), { error: (fields) => logged.push(fields) });
    assert.equal(mapped.code, Code.Internal);
    assert.doesNotMatch(mapped.message, /foo\.ts|secret/);
    assert.equal(logged.length, 1);
  });
});

describe("an engine on its way down", () => {
  it("is unavailable, not an internal failure", () => {
    const shuttingDown = Object.assign(new Error("(HTTP code 500) server error - daemon is shutting down "), {
      statusCode: 500,
      json: { message: "Error response from daemon: daemon is shutting down" },
    });
    assert.ok(translateEngineError(shuttingDown, { kind: "create-container", image: "busybox" }, endpoint) instanceof EngineUnavailableError);
    const gone = Object.assign(new Error("(HTTP code 503) unexpected - unavailable "), { statusCode: 503, json: { message: "unavailable" } });
    assert.ok(translateEngineError(gone, { kind: "stop-container", container: "web" }, endpoint) instanceof EngineUnavailableError);
  });
});

describe("engine answers a client's input can provoke", () => {
  it("an id prefix matching several containers is an ambiguous reference, whatever the status", () => {
    for (const status of [400, 500]) {
      const error = translateEngineError(engineError(status, "Multiple IDs found with provided prefix: ab"), { kind: "inspect-container", container: "ab" }, endpoint);
      assert.ok(error instanceof AmbiguousContainerReferenceError, String(error));
    }
  });

  it("an ambiguous reference is INVALID_ARGUMENT naming container", () => {
    const mapped = toConnectError(new AmbiguousContainerReferenceError("ab"), silentLog);
    assert.equal(mapped.code, Code.InvalidArgument);
    assert.deepEqual(mapped.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field), ["container"]);
  });

  it("431 Request Header Fields Too Large is the request's fault, not the server's", () => {
    const error = translateEngineError(engineError(431, "Request Header Fields Too Large"), { kind: "list-containers" }, endpoint);
    assert.ok(error instanceof EngineRejectedRequestError);
    assert.equal(toConnectError(error, silentLog).code, Code.InvalidArgument);
  });
});

/** A fake engine on a loopback port, to make it misbehave as a real one cannot be made to. */
async function fakeEngine(handler: http.RequestListener): Promise<{ server: http.Server; engine: EngineClient; port: number }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return { server, port, engine: connectEngine(`tcp://127.0.0.1:${port}`) };
}

function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

describe("every engine request contains its own faults (fake engine on loopback)", () => {
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  let elsewhere: http.Server;
  let elsewhereHits = 0;
  let elsewherePort = 0;
  before(async () => {
    process.on("uncaughtException", onUncaught);
    elsewhere = http.createServer((_request, response) => {
      elsewhereHits++;
      response.end("{}");
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, "127.0.0.1", resolve));
    elsewherePort = (elsewhere.address() as AddressInfo).port;
  });
  after(async () => {
    process.off("uncaughtException", onUncaught);
    await close(elsewhere);
    assert.deepEqual(uncaught, [], "no uncaught exception");
  });

  it("never follows a redirect: the call fails with a precise error and nothing else is dialled", async () => {
    const { server, engine } = await fakeEngine((_request, response) => {
      response.writeHead(301, { location: `http://127.0.0.1:${elsewherePort}/containers/web/json` }).end("moved");
    });
    try {
      const unary = await engine.inspectContainer("web").catch((error: unknown) => error);
      const translated = translateEngineError(unary, { kind: "inspect-container", container: "web" }, engine.endpoint);
      assert.ok(translated instanceof EngineFailureError, String(translated));
      assert.match(translated.message, /answered \/containers\/web\/json with a redirect, which Osiris never follows/);
      const stream = await engine.events({ since: "0", filters: {} }, new AbortController().signal).catch((error: unknown) => error);
      assert.match(String(stream), /redirect/);
      assert.equal(elsewhereHits, 0, "no second request");
    } finally {
      await close(server);
    }
  });

  it("turns an engine that drops the connection, before or during its answer, into UNAVAILABLE", async () => {
    let requests = 0;
    const { server, engine } = await fakeEngine((request, response) => {
      if (requests++ % 2 === 0) {
        request.socket.destroy();
        return;
      }
      response.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
      response.write('{"Id":');
      setTimeout(() => request.socket.destroy(), 20);
    });
    try {
      for (let i = 0; i < 2; i++) {
        const error = await engine.inspectContainer("web").catch((e: unknown) => e);
        const translated = translateEngineError(error, { kind: "inspect-container", container: "web" }, engine.endpoint);
        assert.ok(translated instanceof EngineUnavailableError, `attempt ${i}: ${String(error)}`);
      }
    } finally {
      await close(server);
    }
  });

  it("ends a stream the engine drops mid-body with an error its reader sees", async () => {
    const { server, engine } = await fakeEngine((request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.write('{"status":"start"}\n');
      setTimeout(() => request.socket.destroy(), 20);
    });
    try {
      const body = await engine.events({ since: "0", filters: {} }, new AbortController().signal);
      await assert.rejects(async () => {
        for await (const _chunk of body) {
          // read until the engine drops
        }
      });
    } finally {
      await close(server);
    }
  });

  it("path-encodes a container reference, so no character of it changes the engine path", async () => {
    const paths: string[] = [];
    const { server, engine } = await fakeEngine((request, response) => {
      paths.push(request.url ?? "");
      response.writeHead(404, { "content-type": "application/json" }).end('{"message":"No such container"}');
    });
    try {
      await engine.inspectContainer("../../images/x?y#z").catch(() => undefined);
      assert.deepEqual(paths, ["/containers/..%2F..%2Fimages%2Fx%3Fy%23z/json"]);
    } finally {
      await close(server);
    }
  });
});
