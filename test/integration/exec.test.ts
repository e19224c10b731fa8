import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { connectEngine } from "../../server/containers/engine/dockerode-engine-client.js";
import { execMarkerVariable, killExecProcess } from "../../server/containers/operations/exec-process-kill.js";
import { parseTokenList } from "../../server/security/tokens.js";
import { docker, eventually, newTestRun, removeTestContainers, testImage } from "../support/engine-fixtures.js";
import { rpcError } from "../support/rpc-assertions.js";
import { protocols, startTestServer, type TestServer } from "../support/test-server.js";

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString();

/** The command lines `docker top` shows for the container: its processes, as the engine's host sees them. */
async function processes(container: string): Promise<string[]> {
  const top = (await docker.getContainer(container).top()) as { Titles: string[]; Processes: string[][] };
  const command = top.Titles.indexOf("CMD");
  return top.Processes.map((row) => row[command] ?? "");
}

const operatorToken = `op-${randomUUID()}`;
const viewerToken = `view-${randomUUID()}`;
const tokens = parseTokenList(
  JSON.stringify([
    { principal: "ops", role: "operator", token: operatorToken },
    { principal: "dashboard", role: "viewer", token: viewerToken },
  ]),
);
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe("ExecDockerContainer against a real engine", () => {
  const run = newTestRun();
  const logLines: string[] = [];
  let server: TestServer;
  let target = "";
  let stopped = "";

  before(async () => {
    // Trace level: the most the server ever logs, to prove env values and stdin are never among it.
    server = await startTestServer(undefined, { tokens, logLevel: "trace" }, { write: (line) => void logLines.push(line) });
    const client = server.client("grpc");
    const { container } = await client.runDockerContainer(
      { image: testImage, name: run.name("target"), command: ["sleep", "3600"], labels: run.labels },
      bearer(operatorToken),
    );
    target = container!.id;
    const exited = await client.runDockerContainer({ image: testImage, command: ["true"], labels: run.labels }, bearer(operatorToken));
    stopped = exited.container!.id;
    await client.waitDockerContainer({ container: stopped }, bearer(operatorToken));
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server.close();
  });

  for (const protocol of protocols) {
    it(`returns the exit code, stdout and stderr apart, and passes stdin (${protocol})`, async () => {
      const client = server.client(protocol);
      const result = await client.execDockerContainer(
        { container: target, command: ["sh", "-c", "echo out; echo err >&2; exit 3"] },
        bearer(operatorToken),
      );
      assert.deepEqual([result.exitCode, text(result.stdout), text(result.stderr)], [3, "out\n", "err\n"]);
      const stdin = randomBytes(200_000);
      const echoed = await client.execDockerContainer({ container: target, command: ["cat"], stdin }, bearer(operatorToken));
      assert.equal(echoed.exitCode, 0);
      assert.ok(Buffer.from(echoed.stdout).equals(stdin), "stdin came back byte for byte");
    });
  }

  it("runs with the env, user and working dir asked for", async () => {
    const result = await server.client("grpc-web").execDockerContainer(
      { container: run.name("target"), command: ["sh", "-c", 'echo "$GREETING $(id -u) $(pwd)"'], env: { GREETING: "hi" }, user: "1234", workingDir: "/tmp" },
      bearer(operatorToken),
    );
    assert.equal(text(result.stdout), "hi 1234 /tmp\n");
  });

  it("reports a command that cannot start by the runtime's exit code, not as an error", async () => {
    const result = await server.client("grpc").execDockerContainer({ container: target, command: ["no-such-program"] }, bearer(operatorToken));
    assert.equal(result.exitCode, 126);
    assert.match(text(result.stdout), /executable file not found/);
  });

  it("keeps the first max_output_bytes of a stream, marks it truncated, and kills the writer", async () => {
    const result = await server.client("connect-json").execDockerContainer(
      { container: target, command: ["yes", "osiris-cap"], maxOutputBytes: 1000 },
      bearer(operatorToken),
    );
    assert.equal(result.stdout.length, 1000);
    assert.match(text(result.stdout), /^(osiris-cap\n)+osiris-c/);
    assert.deepEqual([result.stdoutTruncated, result.stderrTruncated, result.exitCode], [true, false, 137]);
    assert.ok(await eventually(async () => !(await processes(target)).some((command) => command.startsWith("yes"))), "no yes left running");
  });

  for (const protocol of ["grpc", "grpc-web"] as const) {
    it(`kills a sleep 600 and the shell that started it when the deadline passes (${protocol})`, async () => {
      const error = await rpcError(
        server.client(protocol).execDockerContainer(
          { container: target, command: ["sh", "-c", "sleep 600; echo never"] },
          { ...bearer(operatorToken), timeoutMs: 1500 },
        ),
      );
      assert.equal(error.code, Code.DeadlineExceeded);
      assert.ok(
        await eventually(async () => !(await processes(target)).some((command) => command.includes("sleep 600"))),
        `docker top still shows: ${(await processes(target)).join(" | ")}`,
      );
    });
  }

  it("kills a child that left the process tree (double fork, new session) with the rest", async () => {
    const error = await rpcError(
      server.client("grpc").execDockerContainer(
        { container: target, command: ["sh", "-c", "(setsid sleep 601 &); sleep 600"] },
        { ...bearer(operatorToken), timeoutMs: 1500 },
      ),
    );
    assert.equal(error.code, Code.DeadlineExceeded);
    assert.ok(
      await eventually(async () => !(await processes(target)).some((command) => /sleep 60[01]/.test(command))),
      `docker top still shows: ${(await processes(target)).join(" | ")}`,
    );
  });

  it("kills a command that keeps writing when the deadline passes (the engine loses track of it once its connection closes)", async () => {
    const error = await rpcError(
      server.client("grpc").execDockerContainer(
        { container: target, command: ["sh", "-c", "while :; do echo osiris-tick; sleep 0.05; done"] },
        { ...bearer(operatorToken), timeoutMs: 1500 },
      ),
    );
    assert.equal(error.code, Code.DeadlineExceeded);
    assert.ok(
      await eventually(async () => !(await processes(target)).some((command) => command.includes("osiris-tick"))),
      `docker top still shows: ${(await processes(target)).join(" | ")}`,
    );
  });

  it("kills a canceled exec too", async () => {
    const controller = new AbortController();
    const call = server.client("connect-json").execDockerContainer({ container: target, command: ["sleep", "600"] }, { ...bearer(operatorToken), signal: controller.signal });
    assert.ok(await eventually(async () => (await processes(target)).some((command) => command === "sleep 600")), "the exec started");
    controller.abort();
    assert.equal((await rpcError(call)).code, Code.Canceled);
    assert.ok(await eventually(async () => !(await processes(target)).some((command) => command === "sleep 600")));
  });

  it("kills from inside the container when the host's process table is not Osiris's to use", async () => {
    const engine = connectEngine();
    const marker = randomUUID().replaceAll("-", "");
    const { Id: execId } = await engine.createExec(
      target,
      {
        Cmd: ["sh", "-c", "sleep 600; echo never"],
        Env: [`${execMarkerVariable}=${marker}`],
        AttachStdin: false,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        Privileged: false,
      },
      AbortSignal.timeout(10_000),
    );
    const connection = await engine.startExec(execId, AbortSignal.timeout(10_000));
    try {
      assert.ok(await eventually(async () => (await processes(target)).some((command) => command === "sleep 600")));
      const warnings: object[] = [];
      await killExecProcess(engine, { containerId: target, execId, marker }, { info: () => {}, warn: (fields) => void warnings.push(fields) }, { hostProcessTable: false });
      assert.deepEqual(warnings, []);
      assert.equal((await engine.inspectExec(execId)).Running, false);
      assert.ok(await eventually(async () => !(await processes(target)).some((command) => command.includes("sleep 600"))));
    } finally {
      connection.destroy();
    }
  });

  it("refuses a viewer with PERMISSION_DENIED and runs nothing", async () => {
    const denied = await rpcError(server.client("grpc").execDockerContainer({ container: target, command: ["touch", "/tmp/viewer-was-here"] }, bearer(viewerToken)));
    assert.equal(denied.code, Code.PermissionDenied);
    const check = await server.client("grpc").execDockerContainer({ container: target, command: ["ls", "/tmp/viewer-was-here"] }, bearer(operatorToken));
    assert.notEqual(check.exitCode, 0);
  });

  it("refuses a stopped container with FAILED_PRECONDITION, and an unknown one with NOT_FOUND", async () => {
    const refused = await rpcError(server.client("grpc-web").execDockerContainer({ container: stopped, command: ["true"] }, bearer(operatorToken)));
    assert.equal(refused.code, Code.FailedPrecondition);
    const unknown = await rpcError(server.client("grpc-web").execDockerContainer({ container: run.name("absent"), command: ["true"] }, bearer(operatorToken)));
    assert.equal(unknown.code, Code.NotFound);
  });

  it("logs the container and command, and no env value or stdin, in any line at trace level", async () => {
    const secret = `env-secret-${randomUUID()}`;
    const piped = `stdin-secret-${randomUUID()}`;
    const result = await server.client("grpc").execDockerContainer(
      { container: target, command: ["sh", "-c", 'test "$TOKEN" = "$(cat)"'], env: { TOKEN: secret }, stdin: Buffer.from(piped) },
      bearer(operatorToken),
    );
    assert.equal(result.exitCode, 1, "the command saw both, and they differ");
    await rpcError(server.client("grpc").execDockerContainer({ container: "", command: ["true"], env: { TOKEN: secret } }, bearer(operatorToken)));
    const audit = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).findLast((entry) => entry.audit && entry.outcome === "OK");
    assert.deepEqual([audit?.rpc, audit?.container, audit?.command, audit?.principal], ["ExecDockerContainer", target, ["sh", "-c", 'test "$TOKEN" = "$(cat)"'], "ops"]);
    assert.ok(logLines.length > 0);
    for (const line of logLines) {
      assert.ok(!line.includes(secret) && !line.includes(piped), `a log line holds a secret: ${line}`);
    }
  });
});

describe("ExecDockerContainer with OSIRIS_EXEC=off", () => {
  const run = newTestRun();
  let server: TestServer;
  before(async () => {
    server = await startTestServer(undefined, { exec: { enabled: false, defaultMaxOutputBytes: 1024 * 1024 } });
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server.close();
  });

  it("refuses every exec with PERMISSION_DENIED naming the setting", async () => {
    const { container } = await server.client("grpc").runDockerContainer({ image: testImage, command: ["sleep", "3600"], labels: run.labels });
    for (const protocol of protocols) {
      const refused = await rpcError(server.client(protocol).execDockerContainer({ container: container!.id, command: ["true"] }));
      assert.equal(refused.code, Code.PermissionDenied);
      assert.match(refused.rawMessage, /OSIRIS_EXEC/);
    }
  });
});
