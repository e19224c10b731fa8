import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { translateEngineError } from "../../server/containers/engine/engine-errors.js";
import { toConnectError } from "../../server/rpc/errors.js";

const endpoint = "unix:///var/run/docker.sock";
const engineError = (statusCode: number, message: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), { statusCode, json: { message } });
const silentLog = { error() {} };
const codeOf = (error: Error) => toConnectError(error, silentLog).code;

describe("exec and image failures as the engine reports them", () => {
  it("makes an exec in a stopped, paused or restarting container FAILED_PRECONDITION, naming the container", () => {
    for (const message of [
      "Container 44c89a12255a is not running",
      "Container 44c89a12255a is paused, unpause the container before exec",
      "Container 44c89a12255a is restarting, wait until the container is running",
    ]) {
      for (const kind of ["create-exec", "start-exec"] as const) {
        const error = translateEngineError(engineError(409, message), { kind, container: "web" }, endpoint);
        assert.equal(codeOf(error), Code.FailedPrecondition, `${kind}: ${message}`);
        assert.match(error.message, /^Container not running: "web"/);
      }
    }
  });

  it("makes an exec in a container removed meanwhile NOT_FOUND", () => {
    const error = translateEngineError(engineError(404, "No such container: web"), { kind: "create-exec", container: "web" }, endpoint);
    assert.equal(codeOf(error), Code.NotFound);
  });

  it("makes the engine's image conflicts FAILED_PRECONDITION and an unknown image NOT_FOUND", () => {
    for (const message of [
      'conflict: unable to remove repository reference "app:1" (must force) - container 1bb42c0629ad is using its referenced image 8f5f1b2c',
      "conflict: unable to delete 8f5f1b2c (cannot be forced) - image is being used by running container 1bb42c0629ad",
      "conflict: unable to delete 8f5f1b2c (cannot be forced) - image has dependent child images",
    ]) {
      const error = translateEngineError(engineError(409, message), { kind: "remove-image", image: "app:1" }, endpoint);
      assert.equal(codeOf(error), Code.FailedPrecondition, message);
      assert.ok(error.message.startsWith('Cannot remove image "app:1": conflict'), error.message);
    }
    const missing = translateEngineError(engineError(404, "No such image: app:2"), { kind: "remove-image", image: "app:2" }, endpoint);
    assert.equal(codeOf(missing), Code.NotFound);
  });
});
