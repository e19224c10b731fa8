import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { FakeEngine } from "../support/fake-engine.js";
import { protocols, startFastServer, type FastServer } from "../support/fast-server.js";
import { badRequestFields, eventually, rpcError, testImage } from "./expectations.js";

const managed = { "io.osiris.managed": "true" };
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString();

describe("ExecDockerContainer over a fake engine", () => {
  let server: FastServer;
  before(async () => {
    server = await startFastServer({ env: { OSIRIS_EXEC_MAX_OUTPUT_BYTES: "64" } });
    server.engine.addContainer({ name: "web", labels: managed, state: "running" });
    server.engine.addContainer({ name: "stopped", labels: managed, state: "exited" });
    server.engine.addContainer({ name: "foreign", state: "running" });
  });
  after(() => server.close());

  const engineCalls = () => server.engine.calls.createExec;

  for (const protocol of protocols) {
    it(`answers INVALID_ARGUMENT naming every bad field, echoing no env value, before any engine call (${protocol})`, async () => {
      const before = engineCalls();
      const error = await rpcError(
        server.client(protocol).execDockerContainer({
          container: "",
          command: [],
          env: { "": "x", "A=B": "secret-env-value", OSIRIS_EXEC_ID: "mine" },
          user: "no spaces",
          workingDir: "relative",
          stdin: new Uint8Array(1024 * 1024 + 1),
          maxOutputBytes: 8 * 1024 * 1024 + 1,
        }),
      );
      assert.equal(error.code, Code.InvalidArgument);
      assert.deepEqual(badRequestFields(error), [
        "command",
        "container",
        'env[""]',
        'env["A=B"]',
        'env["OSIRIS_EXEC_ID"]',
        "max_output_bytes",
        "stdin",
        "user",
        "working_dir",
      ]);
      assert.doesNotMatch(error.message, /secret-env-value/);
      assert.equal(engineCalls(), before);
    });
  }

  it("names a command argument holding NUL by its index", async () => {
    const error = await rpcError(server.client("grpc").execDockerContainer({ container: "web", command: ["echo", "a\0b"] }));
    assert.deepEqual(badRequestFields(error), ["command[1]"]);
  });

  it("returns the exit code, stdout and stderr apart, and passes stdin", async () => {
    server.engine.scriptExec(({ body, stdin }) =>
      body.Cmd[0] === "report" ? { stdout: `in:${stdin.toString()}`, stderr: "warned", exitCode: 3 } : { exitCode: 0 },
    );
    const result = await server.client("connect-json").execDockerContainer({ container: "web", command: ["report"], stdin: Buffer.from("hello") });
    assert.equal(result.exitCode, 3);
    assert.equal(text(result.stdout), "in:hello");
    assert.equal(text(result.stderr), "warned");
    assert.deepEqual([result.stdoutTruncated, result.stderrTruncated], [false, false]);
  });

  it("sends the engine env, user and working dir as given, plus its marker, and never privileged", async () => {
    await server.client("grpc").execDockerContainer({ container: "web", command: ["true"], env: { GREETING: "hi" }, user: "1000:1000", workingDir: "/tmp" });
    const body = server.engine.execBodies().at(-1)!;
    assert.equal(body.Privileged, false);
    assert.equal(body.Tty, false);
    assert.deepEqual([body.User, body.WorkingDir, body.AttachStdin], ["1000:1000", "/tmp", false]);
    assert.equal(body.Env[0], "GREETING=hi");
    assert.match(body.Env[1]!, /^OSIRIS_EXEC_ID=[0-9a-f]{24}$/);
  });

  it("keeps each stream up to the server's cap (OSIRIS_EXEC_MAX_OUTPUT_BYTES), marks it truncated, and kills the process", async () => {
    server.engine.scriptExec(() => ({ stdout: "x".repeat(100), stderr: "short", exitCode: 0 }));
    const capped = await server.client("grpc-web").execDockerContainer({ container: "web", command: ["noisy"] });
    assert.equal(capped.stdout.length, 64);
    assert.deepEqual([capped.stdoutTruncated, capped.stderrTruncated], [true, false]);
    const wider = await server.client("grpc-web").execDockerContainer({ container: "web", command: ["noisy"], maxOutputBytes: 1000 });
    assert.equal(wider.stdout.length, 100);
    assert.equal(wider.stdoutTruncated, false);
  });

  it("kills a command still running when the deadline passes, and answers DEADLINE_EXCEEDED", async () => {
    server.engine.scriptExec(() => ({ hang: true }));
    const error = await rpcError(server.client("grpc").execDockerContainer({ container: "web", command: ["sleep", "600"] }, { timeoutMs: 200 }));
    assert.equal(error.code, Code.DeadlineExceeded);
    assert.ok(await eventually(() => server.engine.runningExecs === 0), "the hanging process was killed");
  });

  it("refuses a stopped container with FAILED_PRECONDITION, and a missing or unmanaged one with NOT_FOUND", async () => {
    const stopped = await rpcError(server.client("grpc").execDockerContainer({ container: "stopped", command: ["true"] }));
    assert.equal(stopped.code, Code.FailedPrecondition);
    assert.match(stopped.rawMessage, /^Container not running: "stopped"/);
    for (const container of ["absent", "foreign"]) {
      const missing = await rpcError(server.client("grpc").execDockerContainer({ container, command: ["true"] }));
      assert.equal(missing.code, Code.NotFound, container);
    }
  });

  it("writes an audit line naming the container and command, and no env value or stdin", async () => {
    server.engine.scriptExec(({ stdin }) => ({ stdout: stdin }));
    await server.client("grpc").execDockerContainer({
      container: "web",
      command: ["echo", "audited"],
      env: { SECRET: "env-value-not-for-logs" },
      stdin: Buffer.from("stdin-not-for-logs"),
    });
    const audit = server.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).findLast((entry) => entry.audit && entry.rpc === "ExecDockerContainer");
    assert.deepEqual([audit?.container, audit?.command, audit?.outcome], ["web", ["echo", "audited"], "OK"]);
    assert.ok(!server.logLines.some((line) => /env-value-not-for-logs|stdin-not-for-logs/.test(line)));
  });
});

describe("ExecDockerContainer refused by settings and roles", () => {
  const operatorToken = `op-${randomUUID()}`;
  const viewerToken = `view-${randomUUID()}`;
  const tokens = JSON.stringify([
    { principal: "ops", role: "operator", token: operatorToken },
    { principal: "dashboard", role: "viewer", token: viewerToken },
  ]);
  let server: FastServer;
  before(async () => {
    server = await startFastServer({ env: { OSIRIS_TOKENS: tokens, OSIRIS_EXEC: "off" } });
    server.engine.addContainer({ name: "web", labels: managed, state: "running" });
  });
  after(() => server.close());

  it("refuses a viewer with PERMISSION_DENIED, and anyone with PERMISSION_DENIED naming OSIRIS_EXEC when it is off", async () => {
    const viewer = await rpcError(server.clientWithToken("grpc", viewerToken).execDockerContainer({ container: "web", command: ["true"] }));
    assert.equal(viewer.code, Code.PermissionDenied);
    assert.match(viewer.rawMessage, /needs role operator/);
    const off = await rpcError(server.clientWithToken("grpc", operatorToken).execDockerContainer({ container: "web", command: ["true"] }));
    assert.equal(off.code, Code.PermissionDenied);
    assert.match(off.rawMessage, /^Refused by policy OSIRIS_EXEC: /);
    assert.equal(server.engine.calls.createExec, 0);
  });

  it("lets a viewer list images but not remove them", async () => {
    assert.ok((await server.clientWithToken("grpc", viewerToken).listDockerImages({})).images.length > 0);
    const denied = await rpcError(server.clientWithToken("grpc", viewerToken).removeDockerImage({ image: testImage }));
    assert.equal(denied.code, Code.PermissionDenied);
  });
});

describe("ListDockerImages and RemoveDockerImage over a fake engine", () => {
  let server: FastServer;
  let engine: FakeEngine;
  before(async () => {
    engine = new FakeEngine({ images: [testImage, "127.0.0.1:5000/team/app:1.0", "other/app:2"] });
    server = await startFastServer({ engine, env: { OSIRIS_ALLOWED_IMAGES: "osiris-test/*,127.0.0.1:5000/*" } });
    engine.addContainer({ name: "user", image: testImage, labels: managed, state: "running" });
    engine.addContainer({ name: "hidden", image: testImage, state: "exited" });
  });
  after(() => server.close());

  it("lists every image with its repository, tag and size, and only the managed containers using it", async () => {
    const { images } = await server.client("connect-json").listDockerImages({});
    const busybox = images.find((image) => image.tags.some((tag) => tag.repository === "osiris-test/busybox"));
    assert.deepEqual(busybox?.tags.map((tag) => [tag.repository, tag.tag]), [["osiris-test/busybox", "latest"]]);
    assert.ok(busybox!.sizeBytes > 0n && busybox!.createdAt!.seconds > 0n);
    assert.deepEqual(busybox?.containers.map((container) => container.name), ["user"]);
    const registry = images.find((image) => image.tags[0]?.repository === "127.0.0.1:5000/team/app");
    assert.equal(registry?.tags[0]?.tag, "1.0");
  });

  it("answers INVALID_ARGUMENT for a malformed image, NOT_FOUND for an unknown one, PERMISSION_DENIED outside the allowlist", async () => {
    const bad = await rpcError(server.client("grpc").removeDockerImage({ image: "Not Valid" }));
    assert.deepEqual([bad.code, badRequestFields(bad)], [Code.InvalidArgument, ["image"]]);
    const unknown = await rpcError(server.client("grpc").removeDockerImage({ image: "osiris-test/absent:1" }));
    assert.equal(unknown.code, Code.NotFound);
    const disallowed = await rpcError(server.client("grpc").removeDockerImage({ image: "other/app:2" }));
    assert.equal(disallowed.code, Code.PermissionDenied);
    assert.match(disallowed.rawMessage, /OSIRIS_ALLOWED_IMAGES/);
    assert.ok(engine.hasImage("other/app:2"));
  });

  it("refuses an image a container outside the managed scope uses, even with force, without naming it", async () => {
    const refused = await rpcError(server.client("grpc").removeDockerImage({ image: testImage, force: true }));
    assert.equal(refused.code, Code.FailedPrecondition);
    assert.doesNotMatch(refused.rawMessage, /hidden/);
    assert.ok(engine.hasImage(testImage));
  });

  it("removes an unused image and reports what it untagged and deleted", async () => {
    const removed = await server.client("grpc-web").removeDockerImage({ image: "127.0.0.1:5000/team/app:1.0" });
    assert.deepEqual(removed.untagged, ["127.0.0.1:5000/team/app:1.0"]);
    assert.equal(removed.deleted.length, 1);
    assert.equal(engine.hasImage("127.0.0.1:5000/team/app:1.0"), false);
  });
});
