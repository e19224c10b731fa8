// An outsider's attack on exec, stats, images and the container cache, against the real engine.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { create, toBinary } from "@bufbuild/protobuf";
import { StreamDockerContainerStatsRequestSchema } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import type Docker from "dockerode";
import { ThrowawayEngine } from "../support/engine-control.js";
import { killExecProcess } from "../../server/containers/operations/exec-process-kill.js";
import type { EngineClient } from "../../server/containers/engine/engine-client.js";
import { openRunPolicy } from "../../server/containers/policy/run-policy.js";
import { parseTokenList } from "../../server/security/tokens.js";
import { docker, eventually, newTestRun, removeTestContainers, testImage } from "../support/engine-fixtures.js";
import { rpcError } from "../support/rpc-assertions.js";
import { openFiles, residentMegabytes, steadyMemoryOptions } from "../support/process-stats.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const managedLabel = "io.osiris.managed";
const operatorToken = `op-${randomUUID()}`;
const viewerToken = `view-${randomUUID()}`;
const tokens = parseTokenList(
  JSON.stringify([
    { principal: "ops", role: "operator", token: operatorToken },
    { principal: "dashboard", role: "viewer", token: viewerToken },
  ]),
);
const asOperator = { headers: { authorization: `Bearer ${operatorToken}` } };
const asViewer = { headers: { authorization: `Bearer ${viewerToken}` } };

/** Creates and starts a container behind Osiris's back, as the docker CLI would. */
async function made(run: ReturnType<typeof newTestRun>, suffix: string, hostConfig: Docker.HostConfig, managed = false, start = true): Promise<string> {
  const container = await docker.createContainer({
    name: run.name(suffix),
    Image: testImage,
    Cmd: ["sleep", "3600"],
    Labels: { ...run.labels, ...(managed ? { [managedLabel]: "true" } : {}) },
    HostConfig: hostConfig,
  });
  if (start) await container.start();
  return container.id;
}

async function running(id: string): Promise<boolean> {
  return (await docker.getContainer(id).inspect()).State.Running;
}

describe("exec, Start and Restart never reach the host, whoever made the container", () => {
  const run = newTestRun();
  const volumeName = `osiris-test-${run.id}-hostdir`;
  const hostFolder = mkdtempSync(join(tmpdir(), "osiris-attack-"));
  let all: TestServer;
  let managed: TestServer;
  const hostile: Record<string, { id: string; reason: RegExp }> = {};
  let plain = "";

  before(async () => {
    all = await startTestServer(undefined, { tokens, scope: "all", runPolicy: { ...openRunPolicy, bindMountAllowlist: [hostFolder] } });
    managed = await startTestServer(undefined, { tokens });
    await docker.createVolume({ Name: volumeName, Driver: "local", DriverOpts: { type: "none", o: "bind", device: "/" }, Labels: run.labels });
    const cases: [string, Docker.HostConfig, RegExp][] = [
      ["sys-admin", { CapAdd: ["SYS_ADMIN"] }, /adds capabilities \(SYS_ADMIN\)/],
      ["docker-socket-rw", { Binds: ["/var/run/docker.sock:/var/run/docker.sock"] }, /writable bind mount of "\/var\/run\/docker.sock"/],
      ["docker-socket-ro", { Binds: ["/var/run/docker.sock:/sock:ro"] }, /mounts\[0\]\.source/],
      ["host-pid", { PidMode: "host" }, /host's PID namespace/],
      ["host-network", { NetworkMode: "host" }, /host's network namespace/],
      ["seccomp-unconfined", { SecurityOpt: ["seccomp=unconfined"] }, /security option "seccomp=unconfined"/],
      ["device", { Devices: [{ PathOnHost: "/dev/null", PathInContainer: "/dev/hostnull", CgroupPermissions: "rwm" }] }, /host devices/],
      ["volume-of-root", { Binds: [`${volumeName}:/host:ro`] }, /driver options can point it anywhere/],
    ];
    for (const [suffix, hostConfig, reason] of cases) hostile[suffix] = { id: await made(run, suffix, hostConfig), reason };
    plain = await made(run, "plain", {});
  });
  after(async () => {
    await removeTestContainers(run.id);
    await docker.getVolume(volumeName).remove().catch(() => undefined);
    rmSync(hostFolder, { recursive: true, force: true });
    await all?.close();
    await managed?.close();
  });

  it("execs into an ordinary container made outside Osiris (OSIRIS_SCOPE=all)", async () => {
    const result = await all.client("grpc").execDockerContainer({ container: plain, command: ["true"] }, asOperator);
    assert.equal(result.exitCode, 0);
  });

  it("refuses exec into a container that reaches the host: PERMISSION_DENIED naming the reason, and runs nothing", async () => {
    for (const [suffix, { id, reason }] of Object.entries(hostile)) {
      const error = await rpcError(
        all.client("grpc").execDockerContainer({ container: id, command: ["sh", "-c", "touch /tmp/ran"] }, asOperator),
      );
      assert.equal(error.code, Code.PermissionDenied, `${suffix}: ${error.message}`);
      assert.match(error.rawMessage, reason, suffix);
      const top = (await docker.getContainer(id).top()) as { Processes: string[][] };
      assert.equal(top.Processes.length, 1, `${suffix}: only its own sleep runs`);
    }
  });

  it("refuses Start and Restart of such a container, and leaves it stopped", async () => {
    const { id } = hostile["sys-admin"]!;
    const error = await rpcError(all.client("connect-json").restartDockerContainer({ container: id }, asOperator));
    assert.equal(error.code, Code.PermissionDenied, error.message);
    assert.match(error.rawMessage, /adds capabilities.*does not restart it/);
    await docker.getContainer(id).stop({ t: 0 });
    const refused = await rpcError(all.client("grpc-web").startDockerContainer({ container: id }, asOperator));
    assert.equal(refused.code, Code.PermissionDenied, refused.message);
    assert.match(refused.rawMessage, /does not start it/);
    assert.equal(await running(id), false);
    // This engine cannot run privileged containers at all; Start must refuse before it tries.
    const privileged = await made(run, "privileged", { Privileged: true }, false, false);
    const refusedPrivileged = await rpcError(all.client("grpc").startDockerContainer({ container: privileged }, asOperator));
    assert.equal(refusedPrivileged.code, Code.PermissionDenied, refusedPrivileged.message);
    assert.match(refusedPrivileged.rawMessage, /is privileged/);
  });

  it("refuses exec into a CAP_SYS_ADMIN container that carries the managed label (anyone with the socket can set it)", async () => {
    const id = await made(run, "labelled-sys-admin", { CapAdd: ["SYS_ADMIN"] }, true);
    const error = await rpcError(managed.client("grpc").execDockerContainer({ container: id, command: ["true"] }, asOperator));
    assert.equal(error.code, Code.PermissionDenied, error.message);
    assert.match(error.rawMessage, /CONTAINERS_WITHOUT_HOST_ACCESS.*adds capabilities/);
  });
});

describe("exec input from an outsider", () => {
  const run = newTestRun();
  let server: TestServer;
  let target = "";

  before(async () => {
    server = await startTestServer(undefined, { tokens });
    const { container } = await server
      .client("grpc")
      .runDockerContainer({ image: testImage, name: run.name("target"), command: ["sleep", "3600"], labels: run.labels }, asOperator);
    target = container!.id;
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server.close();
  });

  it("answers INVALID_ARGUMENT naming user for NUL, newline and over-long users, before the engine sees them", async () => {
    for (const user of ["root\0", "root\nx", "a".repeat(300)]) {
      const error = await rpcError(server.client("grpc").execDockerContainer({ container: target, command: ["id"], user }, asOperator));
      assert.equal(error.code, Code.InvalidArgument, `${JSON.stringify(user.slice(0, 20))}: ${error.message}`);
      assert.match(error.rawMessage, /\buser: /);
    }
  });

  it("refuses to let a caller set the kill marker, and a viewer to exec at all", async () => {
    const spoofed = await rpcError(
      server.client("grpc").execDockerContainer({ container: target, command: ["true"], env: { OSIRIS_EXEC_ID: "x" } }, asOperator),
    );
    assert.equal(spoofed.code, Code.InvalidArgument);
    const viewer = await rpcError(server.client("grpc").execDockerContainer({ container: target, command: ["true"] }, asViewer));
    assert.equal(viewer.code, Code.PermissionDenied);
  });

  for (const protocol of ["grpc", "grpc-web", "connect-json"] as const) {
    it(`cuts endless output on both streams at the 8 MiB cap, answers in full at the wire, and leaves no process (${protocol})`, async () => {
      const cap = 8 * 1024 * 1024;
      const result = await server.client(protocol).execDockerContainer(
        { container: target, command: ["sh", "-c", "cat /dev/zero & cat /dev/zero >&2; wait"], maxOutputBytes: cap },
        { ...asOperator, timeoutMs: 120_000 },
      );
      assert.deepEqual(
        [result.stdout.length, result.stderr.length, result.stdoutTruncated || result.stderrTruncated],
        [result.stdoutTruncated ? cap : result.stdout.length, result.stderrTruncated ? cap : result.stderr.length, true],
      );
      assert.ok(
        await eventually(async () => {
          const top = (await docker.getContainer(target).top()) as { Processes: string[][] };
          return top.Processes.length === 1;
        }, 20_000),
        "only the container's own sleep is left",
      );
    });
  }

  it("kills the exec'd process when its HTTP/1.1 client vanishes mid-call", async () => {
    const body = JSON.stringify({ container: target, command: ["sh", "-c", "sleep 611 & sleep 612; wait"] });
    const socket = net.connect(server.port, "127.0.0.1");
    let answer = "";
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => void (answer += chunk.toString()));
    socket.write(
      `POST /osiris.docker.v1.DockerService/ExecDockerContainer HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
        `authorization: Bearer ${operatorToken}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    const sleeping = async () => {
      const top = (await docker.getContainer(target).top()) as { Titles: string[]; Processes: string[][] };
      const command = top.Titles.indexOf("CMD");
      return top.Processes.filter((row) => /^sleep 61[12]$/.test(row[command] ?? "")).length;
    };
    assert.ok(await eventually(async () => (await sleeping()) === 2, 20_000), `the exec runs (answered: ${answer.slice(0, 300)})`);
    socket.destroy();
    assert.ok(await eventually(async () => (await sleeping()) === 0, 20_000), "nothing of it is left");
  });

  it("keeps a working_dir traversal inside the container", async () => {
    const result = await server
      .client("grpc")
      .execDockerContainer({ container: target, command: ["sh", "-c", "pwd; ls /"], workingDir: "/../../../../tmp/../.." }, asOperator);
    assert.equal(result.exitCode, 0);
    assert.match(Buffer.from(result.stdout).toString(), /^\/\n/);
    assert.doesNotMatch(Buffer.from(result.stdout).toString(), /\bboot\b|\bhome\b/, "the container's root, not the host's");
  });
});

describe("the exec kill path kills only the exec's own processes", () => {
  const run = newTestRun();
  let container = "";

  before(async () => {
    container = await made(run, "victim", {});
  });
  after(() => removeTestContainers(run.id));

  it("leaves a process of the same container alone when the exec's pid now belongs to it (a reused pid)", async () => {
    const initPid = (await docker.getContainer(container).inspect()).State.Pid;
    // The engine says the exec runs as the container's PID 1: the exec ended and its pid went on, or another PID namespace.
    const engine = {
      inspectExec: async () => ({ Running: true, Pid: initPid, ExitCode: null }),
      createExec: async () => {
        throw new Error("no second way in this test");
      },
    } as unknown as EngineClient;
    const warnings: string[] = [];
    const log = { warn: (_: unknown, message: string) => void warnings.push(message) } as never;
    await killExecProcess(engine, { containerId: container, execId: "x", marker: "not-this-process" }, log);
    assert.equal(await running(container), true, "the container's own process was not killed");
    const state = (await docker.getContainer(container).inspect()).State;
    assert.equal(state.Paused, false);
    assert.ok(await eventually(async () => (await readProcState(initPid)) !== "T", 2000), "nor left stopped");
    assert.equal(warnings.length, 1);
  });

  it("leaves a host process alone even when it carries the exec's marker (a pid outside the container's cgroup)", async () => {
    const { spawn } = await import("node:child_process");
    const marker = randomUUID();
    const hostProcess = spawn("sleep", ["30"], { env: { ...process.env, OSIRIS_EXEC_ID: marker }, stdio: "ignore" });
    try {
      const engine = {
        inspectExec: async () => ({ Running: true, Pid: hostProcess.pid, ExitCode: null }),
        createExec: async () => {
          throw new Error("no second way in this test");
        },
      } as unknown as EngineClient;
      await killExecProcess(engine, { containerId: container, execId: "x", marker }, { warn: () => undefined } as never);
      assert.equal(hostProcess.exitCode, null);
      assert.equal(hostProcess.signalCode, null);
      assert.notEqual(await readProcState(hostProcess.pid!), "T", "not left stopped");
    } finally {
      hostProcess.kill("SIGKILL");
    }
  });
});

async function readProcState(pid: number): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] ?? "";
}

describe("RemoveDockerImage and ListDockerImages against an outsider", () => {
  const run = newTestRun();
  const victimRepository = `osiris-attack-${run.id}/victim`;
  let server: TestServer;
  let victimId = "";
  let unmanagedName = "";

  before(async () => {
    // An image of its own (a commit), so that nothing another test uses is at stake if a refusal fails.
    const source = await docker.createContainer({ Image: testImage, Cmd: ["true"], Labels: run.labels, name: run.name("source") });
    victimId = ((await source.commit({ repo: victimRepository, tag: "1" })) as { Id: string }).Id;
    unmanagedName = run.name("secret-unmanaged-user");
    await docker.createContainer({ Image: `${victimRepository}:1`, Cmd: ["true"], Labels: run.labels, name: unmanagedName });
    server = await startTestServer(undefined, { tokens, runPolicy: { ...openRunPolicy, allowedImages: ["127.0.0.1:5000/*"] } });
  });
  after(async () => {
    await removeTestContainers(run.id);
    await docker.getImage(victimId).remove({ force: true }).catch(() => undefined);
    await server.close();
  });

  it("refuses a viewer's removal with PERMISSION_DENIED", async () => {
    const error = await rpcError(server.client("grpc").removeDockerImage({ image: `${victimRepository}:1` }, asViewer));
    assert.equal(error.code, Code.PermissionDenied);
  });

  it("never removes an image outside OSIRIS_ALLOWED_IMAGES, whatever form of its id or name is used", async () => {
    const hex = victimId.replace(/^sha256:/, "");
    const forms = [
      victimId,
      hex,
      `sha256:${hex.slice(0, 12)}`,
      hex.slice(0, 12),
      `${victimRepository}:1`,
      `docker.io/${victimRepository}:1`,
      `${victimRepository.toUpperCase()}:1`,
      `127.0.0.1:5000/anything@${victimId}`,
      `127.0.0.1:5000/anything:1@${victimId}`,
    ];
    for (const image of forms) {
      for (const force of [false, true]) {
        const error = await rpcError(server.client("connect-json").removeDockerImage({ image, force }, asOperator));
        assert.ok(
          [Code.PermissionDenied, Code.InvalidArgument, Code.NotFound].includes(error.code),
          `${image}: ${Code[error.code]} ${error.message}`,
        );
        assert.doesNotMatch(error.message, /internal/i, image);
      }
      assert.ok(await docker.getImage(victimId).inspect().then(() => true), `${image}: the image is still there`);
    }
  });

  it("names no unmanaged container among an image's users in the managed scope", async () => {
    const { images } = await server.client("grpc").listDockerImages({}, asViewer);
    const victim = images.find((image) => image.id === victimId);
    assert.ok(victim, "the image itself is listed");
    assert.deepEqual(victim.containers, []);
    assert.doesNotMatch(JSON.stringify(images, (_, value: unknown) => (typeof value === "bigint" ? String(value) : value)), new RegExp(unmanagedName));
  });
});

describe("the container cache against an outsider in the managed scope", () => {
  const run = newTestRun();
  let server: TestServer;
  let unmanaged = "";

  before(async () => {
    server = await startTestServer(undefined, { tokens });
    unmanaged = await made(run, "hidden", {});
    await server.client("grpc").runDockerContainer({ image: testImage, name: run.name("mine"), command: ["sleep", "3600"], labels: run.labels }, asOperator);
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server.close();
  });

  it("never learns of an unmanaged container, before or after the engine was asked about it, nor after it changed", async () => {
    const client = server.client("grpc");
    const refs = [unmanaged, unmanaged.slice(0, 12), run.name("hidden")];
    const messages = async () =>
      Promise.all(refs.map(async (container) => (await rpcError(client.getDockerContainer({ container }, asViewer))).rawMessage));
    const first = await messages();
    // Write-through, events and a relist all had their chance to cache it.
    await docker.getContainer(unmanaged).restart({ t: 0 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const second = await messages();
    const absent = await Promise.all(
      refs.map((_, index) => rpcError(client.getDockerContainer({ container: `${"f".repeat(63 - index)}0` }, asViewer))),
    );
    for (const [index, reference] of refs.entries()) {
      assert.equal(first[index], `Container not found: ${JSON.stringify(reference)}`);
      assert.equal(second[index], first[index]);
    }
    for (const error of absent) assert.equal(error.code, Code.NotFound);
    const { containers } = await client.listDockerContainers({ all: true }, asViewer);
    assert.ok(!containers.some((container) => container.id === unmanaged));
  });

  it("forgets every old name of a container renamed over and over", async () => {
    const client = server.client("grpc");
    const renamed = await made(run, "renamed-0", {}, true);
    for (let i = 1; i <= 30; i++) await docker.getContainer(renamed).rename({ name: run.name(`renamed-${i}`) });
    assert.ok(
      await eventually(async () => (await client.getDockerContainer({ container: run.name("renamed-30") }, asViewer).then(() => true, () => false)), 10_000),
    );
    for (const old of [0, 1, 15, 29]) {
      const error = await rpcError(client.getDockerContainer({ container: run.name(`renamed-${old}`) }, asViewer));
      assert.equal(error.code, Code.NotFound, `renamed-${old}`);
    }
  });

  it("does not grow with Gets of random ids (bounded memory of removals)", async () => {
    const client = server.client("grpc");
    const { randomBytes } = await import("node:crypto");
    const cacheSize = async () =>
      Number(/^osiris_container_cache_containers (\S+)$/m.exec(await (await fetch(`${server.baseUrl}/metrics`)).text())?.[1]);
    const before = await cacheSize();
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, () => rpcError(client.getDockerContainer({ container: randomBytes(32).toString("hex") }, asViewer))),
      );
    }
    // Other people's containers come and go on this engine meanwhile; a thousand phantom entries would show.
    const grown = (await cacheSize()) - before;
    assert.ok(grown < 100, `the cache grew by ${grown}`);
  });
});

/** A stats call whose client never reads its answer, and can then vanish (as in abandoned-streams.test.ts). */
function abandonedStatsCall(port: number, protocol: "grpc" | "grpc-web" | "connect", body: Buffer, token: string): () => void {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => undefined);
  const path = "/osiris.docker.v1.DockerService/StreamDockerContainerStats";
  if (protocol === "grpc") {
    const session = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => socket });
    session.on("error", () => undefined);
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", authorization: `Bearer ${token}` });
    stream.on("error", () => undefined);
    stream.pause();
    stream.end(body);
  } else {
    const contentType = protocol === "grpc-web" ? "application/grpc-web+proto" : "application/connect+proto";
    socket.write(
      `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: ${contentType}\r\ncontent-length: ${body.length}\r\nauthorization: Bearer ${token}\r\n\r\n`,
    );
    socket.write(body);
    socket.pause();
  }
  return () => socket.destroy();
}

function statsRequest(containers: string[]): Buffer {
  const bytes = toBinary(StreamDockerContainerStatsRequestSchema, create(StreamDockerContainerStatsRequestSchema, { containers }));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([head, Buffer.from(bytes)]);
}

/** Connections process `pid` holds to the engine's socket (the peers of the engine's accepted sockets it owns). */
function engineConnectionsOf(pid: number, socketPath = "/var/run/docker.sock"): number {
  const lines = execFileSync("ss", ["-xpH"], { encoding: "utf8" }).split("\n");
  const clientInodes = new Set<string>();
  for (const line of lines) {
    const fields = line.trim().split(/\s+/);
    if (fields[4] === socketPath && fields[7]) clientInodes.add(fields[7]);
  }
  return lines.filter((line) => {
    const fields = line.trim().split(/\s+/);
    return fields[5] !== undefined && clientInodes.has(fields[5]) && line.includes(`pid=${pid},`);
  }).length;
}

async function metricSum(server: ServerProcess, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  let sum = 0;
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))) sum += Number(match[1]);
  return sum;
}

describe("stats streams whose clients stop reading and vanish", () => {
  const run = newTestRun();
  const perRound = 250;
  let server: ServerProcess;
  const watched: string[] = [];

  before(async () => {
    server = await startServerProcess({
      ...steadyMemoryOptions,
      OSIRIS_TOKENS: JSON.stringify([{ principal: "dashboard", role: "viewer", token: viewerToken }]),
      OSIRIS_MAX_STREAMS_PER_PRINCIPAL: String(perRound),
      OSIRIS_RATE_LIMIT: "100000",
      OSIRIS_LOG_LEVEL: "info",
    });
    for (const suffix of ["stats-a", "stats-b", "stats-c"]) watched.push(await made(run, suffix, {}, true));
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server?.stop();
  });

  it("gives back every stream slot, watcher, engine stats stream, descriptor and megabyte of 1,000 abandoned streams", async () => {
    const pid = server.child.pid!;
    // Warm-up: the first stats stream loads code and opens the event subscription.
    const warm = abandonedStatsCall(server.port, "grpc", statsRequest([watched[0]!]), viewerToken);
    assert.ok(await eventually(async () => (await metricSum(server, "osiris_engine_stats_streams")) === 1, 30_000));
    warm();
    assert.ok(await eventually(async () => (await metricSum(server, "osiris_engine_stats_streams")) === 0, 30_000));
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const descriptorsAtStart = openFiles(pid);
    const engineAtStart = engineConnectionsOf(pid);
    let residentAfterWarmUp = 0;
    const protocolsInTurn = ["grpc", "grpc-web", "connect"] as const;
    // Node 24's V8 takes two rounds to grow its heap to the working size, as in abandoned-streams.test.ts.
    for (let round = 1; round <= 4; round++) {
      const vanish: (() => void)[] = [];
      for (let i = 0; i < perRound; i++) {
        const body = statsRequest([watched[i % watched.length]!]);
        vanish.push(abandonedStatsCall(server.port, protocolsInTurn[i % 3]!, body, viewerToken));
      }
      assert.ok(
        await eventually(async () => (await metricSum(server, "osiris_stats_watchers")) === perRound, 60_000),
        `round ${round}: all ${perRound} admitted (${await metricSum(server, "osiris_stats_watchers")} watching)`,
      );
      assert.equal(await metricSum(server, "osiris_engine_stats_streams"), watched.length, "one engine stream per container");
      // A few samples pile up unread.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      for (const gone of vanish) gone();
      const released = await eventually(async () => {
        const [streams, watchers, engineStreams] = await Promise.all(
          ["osiris_active_streams", "osiris_stats_watchers", "osiris_engine_stats_streams"].map((name) => metricSum(server, name)),
        );
        return streams === 0 && watchers === 0 && engineStreams === 0;
      }, 60_000);
      assert.ok(released, `round ${round}: released (${await metricSum(server, "osiris_active_streams")} streams open)`);
      if (round === 2) residentAfterWarmUp = residentMegabytes(pid);
    }
    assert.ok(
      await eventually(async () => engineConnectionsOf(pid) <= engineAtStart, 30_000),
      `engine connections back to ${engineAtStart}, now ${engineConnectionsOf(pid)}`,
    );
    assert.ok(await eventually(async () => openFiles(pid) <= descriptorsAtStart + 2, 30_000), `descriptors back to ${descriptorsAtStart}, now ${openFiles(pid)}`);
    const resident = residentMegabytes(pid);
    assert.ok(resident <= residentAfterWarmUp + 40, `resident ${resident.toFixed(0)} MB after round 4, ${residentAfterWarmUp.toFixed(0)} MB after round 2`);
  });

  it("holds a bounded number of engine connections under a flood of 600 concurrent one_shot calls", async () => {
    const pid = server.child.pid!;
    const { createClient } = await import("@connectrpc/connect");
    const { createGrpcTransport } = await import("@connectrpc/connect-node");
    const { DockerService } = await import("../../gen/osiris/docker/v1/docker_management_pb.js");
    const client = createClient(DockerService, createGrpcTransport({ baseUrl: server.url }));
    let most = 0;
    let flooding = true;
    const sampler = (async () => {
      while (flooding) {
        most = Math.max(most, engineConnectionsOf(pid));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const calls = Array.from({ length: 600 }, async (_, i) => {
      let samples = 0;
      for await (const message of client.streamDockerContainerStats({ containers: [watched[i % watched.length]!], oneShot: true }, asViewer)) {
        if (message.update.case === "stats") samples++;
      }
      return samples;
    });
    const answered = await Promise.all(calls);
    flooding = false;
    await sampler;
    assert.ok(answered.every((samples) => samples === 1), "every call got its one sample");
    // One kept-warm stream per container, plus the few reads in flight and the event subscription.
    assert.ok(most <= 3 * watched.length + 8, `at most ${most} engine connections during the flood`);
  });
});

describe("the container cache while the engine is frozen (SIGSTOP, a throwaway dockerd)", () => {
  const engine = new ThrowawayEngine();
  let server: TestServer | undefined;

  before(async () => {
    await engine.start();
    server = await startTestServer(engine.endpoint);
  });
  after(async () => {
    engine.resume();
    await server?.close();
    await engine.destroy();
  });

  it("stops answering from memory within about two seconds (one ping interval and its timeout), then answers UNAVAILABLE or DEADLINE_EXCEEDED, never hanging", async () => {
    const client = server!.client("grpc");
    const { container } = await client.runDockerContainer({ image: testImage, command: ["sleep", "3600"] });
    const id = container!.id;
    const serving = async () => /^osiris_container_cache_serving 1$/m.test(await (await fetch(`${server!.baseUrl}/metrics`)).text());
    assert.ok(await eventually(serving, 30_000), "the cache serves before the freeze");
    await client.getDockerContainer({ container: id });
    engine.pause();
    const frozenAt = performance.now();
    let lastStaleAt = -1;
    const failures = new Set<string>();
    try {
      while (performance.now() - frozenAt < 8000) {
        const asked = performance.now();
        try {
          await client.getDockerContainer({ container: id }, { timeoutMs: 3000 });
          lastStaleAt = asked - frozenAt;
        } catch (error) {
          failures.add(Code[(await rpcError(Promise.reject(error))).code]);
          assert.ok(performance.now() - asked < 6000, "a failed Get ends near its deadline: no hang");
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      engine.resume();
    }
    assert.ok(lastStaleAt < 2500, `the last Get answered from memory was asked ${Math.round(lastStaleAt)} ms into the freeze`);
    assert.ok([...failures].every((code) => code === "Unavailable" || code === "DeadlineExceeded"), [...failures].join(", "));
    assert.ok(failures.size > 0);
    assert.ok(await eventually(serving, 30_000), "serves again after SIGCONT");
    assert.equal((await client.getDockerContainer({ container: id })).container?.id, id);
    await client.removeDockerContainer({ container: id, force: true });
  });

  it("does not answer from memory for a container removed while Osiris was not reading the engine's events (they were dropped)", async () => {
    const osiris = await startServerProcess({ DOCKER_HOST: engine.endpoint, OSIRIS_LOG_LEVEL: "info" });
    const pid = osiris.child.pid!;
    try {
      const labels = { [managedLabel]: "true" };
      const victim = await engine.docker.createContainer({ Image: testImage, Cmd: ["sleep", "3600"], Labels: labels, name: "victim" });
      await victim.start();
      // Every event of this one carries 64 KB of label: a few fill the socket, then the engine's 1,024-event queue fills.
      const noisy = await engine.docker.createContainer({
        Image: testImage,
        Cmd: ["sleep", "3600"],
        Labels: { ...labels, ballast: "x".repeat(64 * 1024) },
        name: "noisy",
      });
      await noisy.start();
      const cached = async () => {
        const text = await (await fetch(`${osiris.url}/metrics`)).text();
        return /^osiris_container_cache_serving 1$/m.test(text) && /^osiris_container_cache_containers 2$/m.test(text);
      };
      assert.ok(await eventually(cached, 30_000), "the cache holds both");
      // Osiris stalls (a long garbage collection, a starved CPU): it reads nothing for a while.
      process.kill(pid, "SIGSTOP");
      try {
        // SIGCONT to a running sleep changes nothing, but each is a "kill" event.
        for (let i = 0; i < 1300; i++) await noisy.kill({ signal: "SIGCONT" });
        await victim.remove({ force: true });
      } finally {
        process.kill(pid, "SIGCONT");
      }
      const get = async () => {
        const response = await fetch(`${osiris.url}/osiris.docker.v1.DockerService/GetDockerContainer`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ container: "victim" }),
        });
        return response.status;
      };
      assert.ok(await eventually(async () => (await get()) === 404, 10_000), "the removed container is NOT_FOUND within seconds, not at the next resync");
    } finally {
      await osiris.stop();
      for (const name of ["victim", "noisy"]) await engine.docker.getContainer(name).remove({ force: true }).catch(() => undefined);
    }
  });
});
