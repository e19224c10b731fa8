import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { containerExists, docker, newTestRun, removeTestContainers, testImage } from "../support/engine-fixtures.js";
import { runCommand, startServerProcess, type ServerProcess } from "../support/server-process.js";

/**
 * Debian's python3, for which python3-grpcio and python3-protobuf are installed
 * (test/support/environment.sh); a `python3` earlier on PATH may lack them.
 */
const python = "/usr/bin/python3";

async function removeByName(...names: string[]): Promise<void> {
  await Promise.all(names.map((name) => docker.getContainer(name).remove({ force: true }).catch(() => undefined)));
}

describe("the client examples, run as their users run them, against a server process", () => {
  const run = newTestRun();
  let server: ServerProcess;
  let stubs: string;

  before(async () => {
    server = await startServerProcess();
    stubs = mkdtempSync(join(tmpdir(), "osiris-python-stubs-"));
  });

  after(async () => {
    await server.stop();
    rmSync(stubs, { recursive: true, force: true });
    await removeTestContainers(run.id);
  });

  describe("Python (grpcio, stubs generated from proto/ by Debian's protoc)", () => {
    it("generates the stubs with protoc and grpc_python_plugin, the health service as grpc_health so grpcio's own grpc package stays visible", async () => {
      const generated = await runCommand("bash", ["client-examples/python/generate.sh", stubs]);
      assert.equal(generated.code, 0, generated.output);
      for (const module of [
        "osiris/docker/v1/docker_management_pb2.py",
        "osiris/docker/v1/docker_management_pb2_grpc.py",
        "google/rpc/status_pb2.py",
        "google/rpc/error_details_pb2.py",
        "grpc_health/v1/health_pb2_grpc.py",
      ]) {
        assert.ok(existsSync(join(stubs, module)), `${module} generated`);
      }
      assert.equal(existsSync(join(stubs, "grpc")), false, "nothing generated under grpc/, which would shadow grpcio");
    });

    it("checks health, runs, follows logs, stops while following, reads each field violation of a bad request, and removes its container", async () => {
      const name = run.name("python");
      const result = await runCommand(python, [
        "client-examples/python/osiris_client.py", "--url", server.url, "--stubs", stubs, "--name", name, "--label", `osiris-test.run=${run.id}`,
      ]);
      assert.equal(result.code, 0, result.output);
      assert.match(result.output, /^health: SERVING$/m);
      assert.match(result.output, new RegExp(`^started ${name} \\([0-9a-f]{12}\\): CONTAINER_STATE_RUNNING$`, "m"));
      assert.match(result.output, /^log LOG_STREAM_STDOUT \d{4}-\d\d-\d\dT[\d:.]+Z: hello from Python 1$/m);
      assert.match(result.output, /^log LOG_STREAM_STDOUT .*: hello from Python 3$/m);
      assert.match(result.output, new RegExp(`^stopped ${name}: CONTAINER_STATE_EXITED, exit code 0$`, "m"));
      assert.match(result.output, /^log stream ended: the container stopped$/m);
      assert.match(result.output, /^bad request: INVALID_ARGUMENT: /m);
      // Decoded from the google.rpc.Status in the grpc-status-details-bin trailer, not parsed from the message.
      assert.match(result.output, /^ {2}field image: must not be empty$/m);
      assert.match(result.output, /^ {2}field ports\[0\]\.container_port: must be between 1 and 65535$/m);
      assert.match(result.output, /^ {2}field ports\[0\]\.host_ip: "not-an-ip" is not an IPv4 or IPv6 address$/m);
      assert.match(result.output, new RegExp(`^removed ${name}$`, "m"));
      assert.equal(await containerExists(name), false, "nothing left behind");
    });

    it("fails with ALREADY_EXISTS for a taken name and leaves the container that holds it alone", async () => {
      const name = run.name("python-taken");
      const other = await docker.createContainer({ Image: testImage, name, Cmd: ["true"], Labels: run.labels });
      const result = await runCommand(python, ["client-examples/python/osiris_client.py", "--url", server.url, "--stubs", stubs, "--name", name]);
      assert.equal(result.code, 1, result.output);
      assert.match(result.output, /^failed: ALREADY_EXISTS: Container name already in use/m);
      assert.doesNotMatch(result.output, /removed/);
      assert.equal(await containerExists(other.id), true);
    });

    it("tells how to generate the stubs when they are missing", async () => {
      const result = await runCommand(python, ["client-examples/python/osiris_client.py", "--url", server.url, "--stubs", join(stubs, "absent")]);
      assert.equal(result.code, 1);
      assert.match(result.output, /generated modules not found in .*absent .*run `bash client-examples\/python\/generate.sh` first/);
    });
  });

  describe("curl (Connect protocol, JSON)", () => {
    const webName = run.name("curl-web");
    const logsName = run.name("curl-logs");
    after(async () => {
      await removeByName(webName, logsName);
    });

    it("run-and-stop.sh runs a web server, fetches its page through the published port, and stops it", async () => {
      const result = await runCommand("bash", ["client-examples/curl/run-and-stop.sh"], { OSIRIS_URL: server.url, NAME: webName });
      assert.equal(result.code, 0, result.output);
      assert.match(result.output, /"state":"CONTAINER_STATE_RUNNING"/);
      assert.match(result.output, /hello from curl/);
      assert.match(result.output, /"state":"CONTAINER_STATE_EXITED"/);
    });

    it("list.sh lists the stopped container by POST and by GET", async () => {
      const result = await runCommand("bash", ["client-examples/curl/list.sh"], { OSIRIS_URL: server.url, NAME_PREFIX: webName });
      assert.equal(result.code, 0, result.output);
      const [post, get] = result.output.split("== ListDockerContainers (GET)");
      for (const answer of [post!, get!]) {
        assert.match(answer, new RegExp(`"name":"${webName}".*"state":"CONTAINER_STATE_EXITED"`));
      }
    });

    it("errors.sh shows a 400 invalid_argument whose BadRequest names each bad field, and a 404 not_found", async () => {
      const result = await runCommand("bash", ["client-examples/curl/errors.sh"], { OSIRIS_URL: server.url });
      assert.equal(result.code, 0, result.output);
      const [badRequest, notFound] = result.output.split("== StopDockerContainer");
      const body = JSON.parse(badRequest!.split("\n")[1]!) as {
        code: string;
        details: { type: string; value: string; debug: { fieldViolations: { field: string }[] } }[];
      };
      assert.equal(body.code, "invalid_argument");
      assert.equal(body.details[0]?.type, "google.rpc.BadRequest");
      assert.deepEqual(body.details[0]?.debug.fieldViolations.map((v) => v.field), ["image", "ports[0].container_port", "ports[0].host_ip"]);
      assert.match(badRequest!, /^HTTP 400$/m);
      assert.match(notFound!, /"code":"not_found","message":"Container not found: \\"no-such-container-for-the-curl-example\\""/);
      assert.match(notFound!, /^HTTP 404$/m);
    });

    it("follow-logs.sh follows logs through the Connect envelope, stdout and stderr apart, sees the stream end when the container stops, and removes it", async () => {
      const result = await runCommand("bash", ["client-examples/curl/follow-logs.sh"], { OSIRIS_URL: server.url, NAME: logsName });
      assert.equal(result.code, 0, result.output);
      assert.match(result.output, /^stdout \S+Z starting$/m);
      assert.match(result.output, /^stderr \S+Z warming up$/m);
      assert.match(result.output, /^stdout \S+Z ready$/m);
      // Written on SIGTERM, so it arrives only because the stream followed until the stop.
      assert.match(result.output, /^stdout \S+Z bye$/m);
      assert.match(result.output, /== stream ended/);
      assert.equal(await containerExists(logsName), false, "nothing left behind");
    });

    it("connect_unenvelope prints the error of the end-of-stream envelope and returns 1", async () => {
      const script = [
        "source client-examples/curl/connect-stream.sh",
        `connect_envelope '{"container": "no-such-container-for-the-curl-example", "follow": true}' |`,
        `  curl -sS -N -H 'content-type: application/connect+json' --data-binary @- "$OSIRIS_URL/osiris.docker.v1.DockerService/StreamDockerContainerLogs" |`,
        "  connect_unenvelope",
      ].join("\n");
      const result = await runCommand("bash", ["-c", script], { OSIRIS_URL: server.url });
      assert.equal(result.code, 1, result.output);
      assert.match(result.output, /\{"error":\{"code":"not_found","message":"Container not found: \\"no-such-container-for-the-curl-example\\""/);
    });

    it("connect_envelope counts bytes, not characters, in the length prefix", async () => {
      const result = await runCommand("bash", ["-c", `source client-examples/curl/connect-stream.sh; connect_envelope '{"a":"é"}' | od -An -tx1`], {
        LC_ALL: "C.UTF-8", // where ${#json} alone would count 9 characters
      });
      assert.equal(result.code, 0, result.output);
      assert.equal(result.output.trim().split(/\s+/).slice(0, 5).join(" "), "00 00 00 00 0a");
    });
  });

  describe("Node (connect-node, native gRPC)", () => {
    it("runs, stops with exit code 0, and removes its container", async () => {
      const name = run.name("node");
      const result = await runCommand(process.execPath, [
        "--import", "tsx", "client-examples/node/run-and-stop.ts", "--url", server.url, "--name", name, "--label", `osiris-test.run=${run.id}`,
      ]);
      assert.equal(result.code, 0, result.output);
      assert.match(result.output, /started .*: RUNNING/);
      assert.match(result.output, /stopped .*: EXITED, exit code 0/);
      assert.match(result.output, new RegExp(`^removed ${name}$`, "m"));
      assert.equal(await containerExists(name), false, "nothing left behind");
    });

    it("removes its container when a call after the run fails", async () => {
      const name = run.name("node-failing");
      const result = await runCommand(process.execPath, [
        "--import", "tsx", "client-examples/node/run-and-stop.ts", "--url", server.url, "--name", name, "--label", `osiris-test.run=${run.id}`,
        "--stop-signal", "NOT-A-SIGNAL",
      ]);
      assert.equal(result.code, 1, result.output);
      assert.match(result.output, /failed: InvalidArgument: .*signal/);
      assert.match(result.output, new RegExp(`^removed ${name}$`, "m"));
      assert.equal(await containerExists(name), false, "nothing left behind");
    });
  });
});
