// Issue 12: nobody gets the host through a mount Osiris allows. Real engine throughout.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import {
  MountType,
  RestartPolicyMode,
  type RunDockerContainerRequestSchema,
} from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { openRunPolicy } from "../../server/containers/policy/run-policy.js";
import { docker, eventually, newTestRun, removeTestContainers, testImage } from "../support/engine-fixtures.js";
import { rpcError } from "../support/rpc-assertions.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

/** A Run request minus what every Run here sets itself. */
type RunRequest = Omit<Exclude<MessageInitShape<typeof RunDockerContainerRequestSchema>, { $typeName: string }>, "image" | "labels">;

const run = newTestRun();
const allowed = mkdtempSync(join(tmpdir(), "osiris-escape-"));
/** A file the host owns that only a container holding host `/` could create. */
const escapeMarker = join(tmpdir(), `osiris-escaped-${run.id}`);
/** Printed by a container that can see the host's root filesystem. */
const seesHostRoot = (at: string) =>
  `if [ -e ${at}/run/docker.sock ] || [ -e ${at}/var/run/docker.sock ] || [ -e ${at}/etc/os-release ] || [ -d ${at}${allowed} ]; then echo HOST-ROOT-VISIBLE; mkdir -p ${at}/tmp; touch ${at}${escapeMarker}; fi`;
/** Names carry the run id, so cleanup finds every volume Osiris made for this file. */
const volumeName = (suffix: string) => `osiris-test-${run.id}-${suffix}`;
const isRoot = process.getuid?.() === 0;

let server: TestServer;
let submountedTmpfs = false;

async function logsOf(id: string): Promise<string> {
  return (await docker.getContainer(id).logs({ stdout: true, stderr: true })).toString("utf8");
}

async function runThroughOsiris(request: RunRequest, on = server): Promise<string> {
  const { container } = await on.client("grpc").runDockerContainer({ image: testImage, labels: run.labels, ...request });
  return container!.id;
}

/** Runs to completion and answers the output; the container is removed in `after`. */
async function outputOf(request: RunRequest): Promise<string> {
  const id = await runThroughOsiris(request);
  await docker.getContainer(id).wait();
  return logsOf(id);
}

const bind = (source: string, target: string) => ({ type: MountType.BIND, source, target, readOnly: true });
const volume = (source: string, target: string) => ({ type: MountType.VOLUME, source, target });

function fieldsOf(error: Awaited<ReturnType<typeof rpcError>>): string[] {
  return error.findDetails(BadRequestSchema).flatMap((detail) => detail.fieldViolations.map((violation) => violation.field));
}

before(async () => {
  // A host mount below the allowed folder: engines before API 1.44 leave such
  // submounts writable inside a read-only recursive bind. Needs root.
  mkdirSync(join(allowed, "mnt"));
  if (isRoot) {
    submountedTmpfs = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", `osiris-test-${run.id}`, join(allowed, "mnt")]).status === 0;
  }
  for (const folder of ["sub", "sub2", "real", "shared", "data"]) mkdirSync(join(allowed, "mnt", folder), { recursive: true });
  server = await startTestServer(undefined, { runPolicy: { ...openRunPolicy, bindMountAllowlist: [allowed] } });
});

after(async () => {
  await removeTestContainers(run.id);
  const { Volumes } = await docker.listVolumes({ filters: { name: [run.id] } });
  await Promise.all((Volumes ?? []).map((v) => docker.getVolume(v.Name).remove({ force: true }).catch(() => undefined)));
  await server?.close();
  if (submountedTmpfs) spawnSync("umount", [join(allowed, "mnt")]);
  rmSync(allowed, { recursive: true, force: true });
  rmSync(escapeMarker, { force: true });
});

describe("host paths are read-only, so no container can swap a bind source", () => {
  it("answers INVALID_ARGUMENT naming mounts[i].read_only for a writable bind, the first step of the symlink swap", async () => {
    const error = await rpcError(
      server.client("grpc").runDockerContainer({
        image: testImage,
        labels: run.labels,
        mounts: [{ type: MountType.BIND, source: allowed, target: "/w", readOnly: false }, bind(join(allowed, "mnt", "sub"), "/data")],
        restartPolicy: { mode: RestartPolicyMode.ON_FAILURE },
      }),
    );
    assert.equal(error.code, Code.InvalidArgument);
    assert.deepEqual(fieldsOf(error), ["mounts[0].read_only"]);
    assert.match(error.rawMessage, /named volume/);
  });

  it("keeps host / out of a container whose restart policy restarts it after it tried to swap its own bind source", async () => {
    const id = await runThroughOsiris({
      mounts: [bind(allowed, "/w"), bind(join(allowed, "mnt", "sub"), "/data")],
      restartPolicy: { mode: RestartPolicyMode.ON_FAILURE, maxRetryCount: 2 },
      command: ["sh", "-c", `${seesHostRoot("/data")}; echo attempt; rm -rf /w/mnt/sub && ln -s / /w/mnt/sub && echo SWAPPED; exit 1`],
    });
    const settled = await eventually(async () => {
      const inspect = await docker.getContainer(id).inspect();
      return !inspect.State.Running && !inspect.State.Restarting && inspect.RestartCount >= 2;
    }, 120_000);
    const logs = await logsOf(id);
    assert.ok(settled, `the engine restarted the container twice: ${logs}`);
    assert.equal(logs.match(/attempt/g)?.length, 3, logs);
    assert.doesNotMatch(logs, /SWAPPED|HOST-ROOT-VISIBLE/);
    assert.match(logs, /Read-only file system/);
    assert.ok(lstatSync(join(allowed, "mnt", "sub")).isDirectory(), "the source on the host is still the folder");
    assert.equal(existsSync(escapeMarker), false, "no file appeared outside the allowed folder");
  });

  it("keeps host / out of a container restarted by RestartDockerContainer after a second container tried the swap", async () => {
    const victim = await runThroughOsiris({
      mounts: [bind(join(allowed, "mnt", "sub2"), "/data")],
      command: ["sh", "-c", `${seesHostRoot("/data")}; echo victim-started; trap 'exit 0' TERM; while true; do sleep 0.1; done`],
    });
    const attacker = await outputOf({
      mounts: [bind(allowed, "/w")],
      command: ["sh", "-c", "rm -rf /w/mnt/sub2 && ln -s / /w/mnt/sub2 && echo SWAPPED; echo attacker-done"],
    });
    assert.match(attacker, /attacker-done/);
    assert.doesNotMatch(attacker, /SWAPPED/);
    await server.client("grpc").restartDockerContainer({ container: victim, timeoutSeconds: 5 });
    assert.ok(await eventually(async () => (await logsOf(victim)).match(/victim-started/g)?.length === 2));
    assert.doesNotMatch(await logsOf(victim), /HOST-ROOT-VISIBLE/);
    assert.ok(lstatSync(join(allowed, "mnt", "sub2")).isDirectory());
    assert.equal(existsSync(escapeMarker), false);
  });

  it(`shows no host mount below a bind source, and writes none (submount under test: ${isRoot ? "tmpfs" : "none, not root"})`, async () => {
    const output = await outputOf({
      mounts: [bind(allowed, "/w")],
      command: ["sh", "-c", "ls /w/mnt; touch /w/mnt/planted && echo WROTE; echo done"],
    });
    assert.match(output, /done/);
    assert.doesNotMatch(output, /WROTE/);
    assert.equal(existsSync(join(allowed, "mnt", "planted")), false);
  });

  it("refuses a source that is a symlink, or lies below one, even when it leads back into the allowed folder", async () => {
    symlinkSync(join(allowed, "mnt", "real"), join(allowed, "link-to-real"));
    symlinkSync(join(allowed, "mnt"), join(allowed, "link-to-mnt"));
    for (const [source, symlink] of [
      [join(allowed, "link-to-real"), join(allowed, "link-to-real")],
      [join(allowed, "link-to-mnt", "real"), join(allowed, "link-to-mnt")],
    ] as const) {
      const error = await rpcError(runThroughOsiris({ mounts: [bind(source, "/data")] }));
      assert.equal(error.code, Code.PermissionDenied, source);
      assert.match(error.rawMessage, /^Refused by policy OSIRIS_BIND_MOUNT_ALLOWLIST: mounts\[0\]\.source /);
      assert.ok(error.rawMessage.includes(`passes through the symlink ${JSON.stringify(symlink)}`), error.rawMessage);
    }
  });

  it("refuses a source inside a host path that an existing container can write", async () => {
    const writer = await docker.createContainer({
      Image: testImage,
      Cmd: ["true"],
      Labels: run.labels,
      HostConfig: { Binds: [`${join(allowed, "mnt", "shared")}:/s`] },
    });
    try {
      mkdirSync(join(allowed, "mnt", "shared", "x"), { recursive: true });
      const error = await rpcError(runThroughOsiris({ mounts: [bind(join(allowed, "mnt", "shared", "x"), "/data")] }));
      assert.equal(error.code, Code.PermissionDenied);
      assert.match(error.rawMessage, /^Refused by policy HOST_PATH_DENY_LIST: mounts\[0\]\.source .*which a container can write/);
    } finally {
      await writer.remove({ force: true });
    }
  });
});

describe("containers an older Osiris made with a writable bind", () => {
  it("are not started or restarted again: FAILED_PRECONDITION, and the container stays as it was", async () => {
    const legacy = await docker.createContainer({
      Image: testImage,
      Cmd: ["sleep", "600"],
      Labels: { ...run.labels, "io.osiris.managed": "true" },
      HostConfig: { Binds: [`${join(allowed, "mnt", "data")}:/data`] },
    });
    try {
      for (const call of [
        () => server.client("grpc").startDockerContainer({ container: legacy.id }),
        () => server.client("connect-json").restartDockerContainer({ container: legacy.id }),
      ]) {
        const error = await rpcError(call());
        assert.equal(error.code, Code.FailedPrecondition);
        assert.match(error.rawMessage, /writable bind mount of .*Remove it and run it with read-only binds/);
      }
      assert.equal((await legacy.inspect()).State.Status, "created");
    } finally {
      // Its writable bind would make the folder "a path a container can write" for the tests after it.
      await legacy.remove({ force: true });
    }
  });
});

describe("setuid files and device nodes have no effect through any mount Osiris allows", () => {
  it("refuses to plant a setuid binary or a device node through a bind mount (read-only)", async () => {
    const output = await outputOf({
      mounts: [bind(join(allowed, "mnt", "data"), "/w")],
      command: ["sh", "-c", "cp /bin/busybox /w/sb; chmod 4755 /w/sb; mknod /w/blk b 254 0; echo done"],
    });
    assert.match(output, /Read-only file system/);
    assert.equal(existsSync(join(allowed, "mnt", "data", "sb")), false);
    assert.equal(existsSync(join(allowed, "mnt", "data", "blk")), false);
  });

  it("runs every container with no-new-privileges, without MKNOD, NET_RAW and SETFCAP, under the default seccomp profile, with at most 4096 processes", async () => {
    const id = await runThroughOsiris({ command: ["sh", "-c", "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status"] });
    await docker.getContainer(id).wait();
    const inspect = await docker.getContainer(id).inspect();
    assert.equal(inspect.HostConfig.PidsLimit, 4096, "a fork bomb fills its own process table, not the host's");
    assert.deepEqual(inspect.HostConfig.SecurityOpt, ["no-new-privileges"]);
    assert.deepEqual([...(inspect.HostConfig.CapDrop ?? [])].sort(), ["MKNOD", "NET_RAW", "SETFCAP"]);
    const logs = await logsOf(id);
    assert.match(logs, /NoNewPrivs:\s+1/);
    assert.match(logs, /Seccomp:\s+2/, "filter mode: the engine's default profile applies");
  });

  it("lets a named volume hold a planted setuid-root binary that raises nobody's privileges neither in a container nor on the host, and no device node", async () => {
    const name = volumeName("setuid");
    // exit(geteuid()): a static x86-64 program whose exit code is 0 only when it runs as root.
    const program = euidProgram().toString("base64");
    const planted = await outputOf({
      mounts: [volume(name, "/v")],
      env: { PROGRAM: program },
      command: ["sh", "-c", 'echo "$PROGRAM" | base64 -d > /v/euid && chmod 4755 /v/euid && echo planted; mknod /v/blk b 254 0 || echo mknod-refused'],
    });
    assert.match(planted, /planted/);
    assert.match(planted, /mknod-refused/);
    const { Mountpoint } = await docker.getVolume(name).inspect();
    assert.equal(existsSync(join(Mountpoint, "blk")), false, "CapDrop MKNOD: no device node on the host");
    assert.equal(statSync(join(Mountpoint, "euid")).mode & 0o4000, 0o4000, "the bit itself was set");
    if (process.arch !== "x64") return;
    const asNobody = await outputOf({ mounts: [volume(name, "/v")], user: "65534", command: ["sh", "-c", "/v/euid; echo euid-exit=$?"] });
    assert.match(asNobody, /euid-exit=254/, "65534 & 0xff: the setuid bit did not make it root");
    if (isRoot) {
      const onHost = spawnSync(join(Mountpoint, "euid"), [], { uid: 65534, gid: 65534 });
      assert.notEqual(onHost.status, 0, "a host user cannot run it as root (the engine's data root is closed to it)");
      assert.equal(onHost.error && (onHost.error as NodeJS.ErrnoException).code, "EACCES");
    }
  });
});

describe("named volumes are Osiris's own", () => {
  const refusal = async (source: string) => {
    const error = await rpcError(runThroughOsiris({ mounts: [{ type: MountType.TMPFS, target: "/t" }, volume(source, "/v")] }));
    assert.equal(error.code, Code.PermissionDenied, error.rawMessage);
    assert.ok(error.rawMessage.startsWith(`mounts[1].source: volume ${JSON.stringify(source)} `), error.rawMessage);
    return error.rawMessage;
  };

  it("creates a new volume on first use, labelled managed, local, without options, and writable", async () => {
    const name = volumeName("fresh");
    const output = await outputOf({ mounts: [volume(name, "/v")], command: ["sh", "-c", "echo kept > /v/file && echo wrote"] });
    assert.match(output, /wrote/);
    const inspect = await docker.getVolume(name).inspect();
    assert.equal(inspect.Labels?.["io.osiris.managed"], "true");
    assert.equal(inspect.Driver, "local");
    assert.ok(!inspect.Options || Object.keys(inspect.Options).length === 0);
    assert.ok(existsSync(join(inspect.Mountpoint, "file")));
  });

  it("lets two concurrent Runs that both create the same new volume both succeed", async () => {
    const name = volumeName("raced");
    const results = await Promise.allSettled([1, 2].map(() => runThroughOsiris({ mounts: [volume(name, "/v")], command: ["true"] })));
    assert.deepEqual(results.map((result) => result.status), ["fulfilled", "fulfilled"]);
    assert.equal((await docker.getVolume(name).inspect()).Labels?.["io.osiris.managed"], "true");
  });

  it("refuses an unmanaged container's data volume with PERMISSION_DENIED naming mounts[i].source", async () => {
    const name = volumeName("their-data");
    await docker.createVolume({ Name: name, Labels: run.labels });
    await docker.createContainer({ Image: testImage, Cmd: ["true"], Labels: run.labels, HostConfig: { Binds: [`${name}:/data`] } });
    assert.match(await refusal(name), /was not created by Osiris/);
  });

  it("refuses a volume labelled managed that an unmanaged container uses", async () => {
    const name = volumeName("shared-out");
    await docker.createVolume({ Name: name, Labels: { ...run.labels, "io.osiris.managed": "true" } });
    await docker.createContainer({ Image: testImage, Cmd: ["true"], Labels: run.labels, HostConfig: { Binds: [`${name}:/data`] } });
    assert.match(await refusal(name), /is used by a container Osiris does not manage/);
  });

  it("refuses a local volume with bind options, labelled or not, which would bypass the bind allowlist", async () => {
    const hostFolder = join(allowed, "mnt", "data");
    for (const [suffix, labels] of [
      ["bind-options", run.labels],
      ["forged-label", { ...run.labels, "io.osiris.managed": "true" }],
    ] as const) {
      const name = volumeName(suffix);
      await docker.createVolume({ Name: name, Driver: "local", DriverOpts: { type: "none", o: "bind", device: hostFolder }, Labels: labels });
      const message = await refusal(name);
      assert.match(message, suffix === "bind-options" ? /was not created by Osiris/ : /has driver options \(device, o, type\)/);
    }
  });

  it("refuses a plain volume without the managed label", async () => {
    const name = volumeName("plain");
    await docker.createVolume({ Name: name, Labels: run.labels });
    assert.match(await refusal(name), /was not created by Osiris \(it has no io\.osiris\.managed=true label\)/);
  });
});

describe("the deny-list holds whatever the allowlist says", () => {
  let wide: TestServer;
  let socketServer: Server;
  const socketFolder = join(allowed, "with-socket");
  before(async () => {
    mkdirSync(join(socketFolder, "deep"), { recursive: true });
    socketServer = createServer();
    await new Promise<void>((resolve) => socketServer.listen(join(socketFolder, "deep", "app.sock"), resolve));
    wide = await startTestServer(undefined, { runPolicy: { ...openRunPolicy, bindMountAllowlist: ["/", "/run", "/var/run"] } });
  });
  after(async () => {
    await wide?.close();
    await new Promise((resolve) => socketServer?.close(resolve));
  });

  const deniedSources = [
    "/",
    "/run",
    "/var/run",
    "/var",
    "/run/containerd",
    "/run/docker/containerd",
    "/run/docker.sock",
    "/var/run/docker.sock",
    "/var/lib/docker",
    "/var/lib/docker/volumes",
    "/var/lib/containerd",
    "/proc",
    "/sys/kernel",
    "/dev",
    "/boot",
    "/etc",
  ];
  it(`refuses with PERMISSION_DENIED: ${deniedSources.join(", ")}`, async () => {
    for (const source of deniedSources) {
      const error = await rpcError(runThroughOsiris({ mounts: [bind(source, "/host")] }, wide));
      assert.equal(error.code, Code.PermissionDenied, source);
      assert.match(error.rawMessage, /^Refused by policy HOST_PATH_DENY_LIST: mounts\[0\]\.source /, source);
    }
  });

  it("refuses the host folder of a named volume, where containers write", async () => {
    const name = volumeName("host-folder");
    await runThroughOsiris({ mounts: [volume(name, "/v")], command: ["true"] });
    const { Mountpoint } = await docker.getVolume(name).inspect();
    const error = await rpcError(runThroughOsiris({ mounts: [bind(Mountpoint, "/host")] }, wide));
    assert.equal(error.code, Code.PermissionDenied);
    assert.match(error.rawMessage, /HOST_PATH_DENY_LIST/);
  });

  it("refuses a folder that holds a unix socket anywhere below it", async () => {
    for (const [source, on] of [
      [socketFolder, server],
      [join(socketFolder, "deep", "app.sock"), wide],
    ] as const) {
      const error = await rpcError(runThroughOsiris({ mounts: [bind(source, "/host")] }, on));
      assert.equal(error.code, Code.PermissionDenied);
      assert.match(error.rawMessage, /unix socket/);
    }
  });

  it("still mounts an ordinary folder under the wide allowlist", async () => {
    writeFileSync(join(allowed, "mnt", "real", "hello"), `hi-${randomUUID()}`);
    const id = await runThroughOsiris({ mounts: [bind(join(allowed, "mnt", "real"), "/r")], command: ["cat", "/r/hello"] }, wide);
    await docker.getContainer(id).wait();
    assert.match(await logsOf(id), /hi-/);
  });
});

describe("a bind source Osiris cannot see is refused, at Run and at every Start and Restart", () => {
  it("answers PERMISSION_DENIED naming mounts[0].source for a source that does not exist (the engine answered INVALID_ARGUMENT)", async () => {
    for (const [source, missing] of [
      [join(allowed, "mnt", "never-made"), join(allowed, "mnt", "never-made")],
      [join(allowed, "gone", "deeper"), join(allowed, "gone")],
    ] as const) {
      const error = await rpcError(runThroughOsiris({ mounts: [bind(source, "/data")] }));
      assert.equal(error.code, Code.PermissionDenied, error.rawMessage);
      assert.match(error.rawMessage, /^Refused by policy OSIRIS_BIND_MOUNT_ALLOWLIST: mounts\[0\]\.source /);
      assert.ok(error.rawMessage.includes(`cannot be examined by Osiris (ENOENT on ${JSON.stringify(missing)})`), error.rawMessage);
      assert.match(error.rawMessage, /visible to Osiris at the same path as on the engine's host/);
    }
  });

  it("refuses StartDockerContainer and RestartDockerContainer with PERMISSION_DENIED once the source was swapped on the host for a symlink to /", async () => {
    const source = join(allowed, "mnt", "swapped-later");
    mkdirSync(source);
    const id = await runThroughOsiris({ mounts: [bind(source, "/data")], command: ["sh", "-c", `${seesHostRoot("/data")}; echo ran`] });
    await docker.getContainer(id).wait();
    const stopped = await docker.getContainer(id).inspect();
    try {
      rmSync(source, { recursive: true });
      symlinkSync("/", source);
      for (const call of [
        () => server.client("grpc").startDockerContainer({ container: id }),
        () => server.client("connect-json").restartDockerContainer({ container: id }),
      ]) {
        const error = await rpcError(call());
        assert.equal(error.code, Code.PermissionDenied, error.rawMessage);
        assert.match(error.rawMessage, /^Refused by policy OSIRIS_BIND_MOUNT_ALLOWLIST: mounts\[0\]\.source .*passes through the symlink/);
      }
      const after = await docker.getContainer(id).inspect();
      assert.equal(after.State.Status, "exited");
      assert.equal(after.State.StartedAt, stopped.State.StartedAt, "the engine never started it again");
      assert.equal((await logsOf(id)).match(/ran/g)?.length, 1);
      assert.equal(existsSync(escapeMarker), false);
    } finally {
      rmSync(source, { force: true });
    }
  });
});

/** A 136-byte static x86-64 ELF: `exit(geteuid())`. */
function euidProgram(): Buffer {
  const code = Buffer.from([0xb8, 0x6b, 0, 0, 0, 0x0f, 0x05, 0x89, 0xc7, 0xb8, 0x3c, 0, 0, 0, 0x0f, 0x05]);
  const base = 0x400000n;
  const headerBytes = 64 + 56;
  const size = BigInt(headerBytes + code.length);
  const header = Buffer.alloc(headerBytes);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(header, 0);
  header.writeUInt16LE(2, 16); // ET_EXEC
  header.writeUInt16LE(0x3e, 18); // x86-64
  header.writeUInt32LE(1, 20);
  header.writeBigUInt64LE(base + BigInt(headerBytes), 24); // entry point: the code after the headers
  header.writeBigUInt64LE(64n, 32); // program headers right after this one
  header.writeUInt16LE(64, 52);
  header.writeUInt16LE(56, 54);
  header.writeUInt16LE(1, 56);
  header.writeUInt32LE(1, 64); // PT_LOAD
  header.writeUInt32LE(5, 68); // read + execute
  header.writeBigUInt64LE(base, 80);
  header.writeBigUInt64LE(base, 88);
  header.writeBigUInt64LE(size, 96);
  header.writeBigUInt64LE(size, 104);
  header.writeBigUInt64LE(0x1000n, 112);
  return Buffer.concat([header, code]);
}
