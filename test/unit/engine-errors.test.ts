import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { engineMessage, pullFailure, translateEngineError } from "../../server/containers/engine-errors.js";
import {
  ContainerNameConflictError,
  ContainerNotFoundError,
  ContainerStartError,
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
    const error = translateEngineError(Object.assign(new Error("connect ENOENT"), { code: "ENOENT" }), { kind: "start-container" }, endpoint);
    assert.ok(error instanceof EngineUnavailableError);
    assert.match(error.message, /^Docker engine unreachable at unix:\/\/\/var\/run\/docker.sock/);
  });

  it("maps 404 on a container and 409 on create", () => {
    assert.ok(translateEngineError(engineError(404, "No such container: web"), { kind: "stop-container", container: "web" }, endpoint) instanceof ContainerNotFoundError);
    assert.ok(translateEngineError(engineError(409, "Conflict."), { kind: "create-container", name: "web" }, endpoint) instanceof ContainerNameConflictError);
  });

  it("recognises both ways the engine reports a taken host port", () => {
    const byContainer = translateEngineError(
      engineError(500, "driver failed programming external connectivity on endpoint x (abc): Bind for 127.0.0.1:8080 failed: port is already allocated"),
      { kind: "start-container" },
      endpoint,
    );
    assert.ok(byContainer instanceof HostPortAllocatedError);
    assert.equal(byContainer.port, "8080");
    const byProcess = translateEngineError(
      engineError(500, "Error starting userland proxy: listen tcp4 0.0.0.0:9090: bind: address already in use"),
      { kind: "start-container" },
      endpoint,
    );
    assert.ok(byProcess instanceof HostPortAllocatedError);
    assert.equal(byProcess.port, "9090");
  });

  it("treats other start failures, 400 or 500, as a container that cannot start", () => {
    const error = translateEngineError(engineError(400, 'exec: "/nope": stat /nope: no such file or directory'), { kind: "start-container" }, endpoint);
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
    assert.ok(translateEngineError(shuttingDown, { kind: "create-container" }, endpoint) instanceof EngineUnavailableError);
    const gone = Object.assign(new Error("(HTTP code 503) unexpected - unavailable "), { statusCode: 503, json: { message: "unavailable" } });
    assert.ok(translateEngineError(gone, { kind: "stop-container", container: "web" }, endpoint) instanceof EngineUnavailableError);
  });
});
