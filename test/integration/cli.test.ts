// The `osiris` CLI command by command, as a docker user runs it: spawned as
// `node client-examples/cli/osiris.mjs` against a real Osiris and the real
// engine. Every container carries this run's label and is removed afterwards.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { tokenList } from "../../server/settings/credentials.js";
import { docker, eventually, newTestRun, removeLocalImage, removeTestContainers, testImage, testRunLabel } from "../support/engine-fixtures.js";
import { freePort, projectRoot } from "../support/server-process.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `osiris ARGS` to completion (bounded, to prove it does not hang) with stdout and stderr apart. */
function osiris(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["client-examples/cli/osiris.mjs", ...args], {
      cwd: projectRoot,
      env: { ...process.env, OSIRIS_URL: "", OSIRIS_TOKEN: "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const result = { stdout: "", stderr: "" };
    child.stdout.on("data", (chunk: Buffer) => (result.stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (result.stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, ...result });
    });
  });
}

/** A shell loop that prints to both streams and exits 0 on SIGTERM, so stop is quick. */
const chatty = ["sh", "-c", "echo hello; echo oops >&2; trap 'exit 0' TERM; while true; do sleep 0.1; done"];

describe("osiris CLI against a real server and engine", () => {
  const run = newTestRun();
  const label = `${testRunLabel}=${run.id}`;
  let server: TestServer;
  let env: Record<string, string>;
  const name = run.name("cli");

  before(async () => {
    server = await startTestServer();
    env = { OSIRIS_URL: server.baseUrl };
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server.close();
  });

  it("run -d prints the new container's full id and maps --name, -e, -p, --label, --memory, --cpus and --restart", async () => {
    const result = await osiris(
      ["run", "-d", "--name", name, "--label", label, "-e", "GREETING=hi", "-p", "127.0.0.1::80", "-m", "64m", "--cpus", "0.5", "--restart", "on-failure:2", testImage, ...chatty],
      env,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^[0-9a-f]{64}\n$/);
    const inspected = await docker.getContainer(name).inspect();
    assert.equal(inspected.Id, result.stdout.trim());
    assert.ok(inspected.Config.Env.includes("GREETING=hi"));
    assert.equal(inspected.Config.Labels[testRunLabel], run.id);
    assert.equal(inspected.HostConfig.Memory, 64 * 1024 * 1024);
    assert.equal(inspected.HostConfig.NanoCpus, 500_000_000);
    assert.deepEqual(inspected.HostConfig.RestartPolicy, { Name: "on-failure", MaximumRetryCount: 2 });
    assert.equal(inspected.HostConfig.PortBindings["80/tcp"]?.[0]?.HostIp, "127.0.0.1");
  });

  it("ps prints docker's table: headers, then one padded row per container", async () => {
    const result = await osiris(["ps", "--filter", `label=${label}`], env);
    assert.equal(result.code, 0, result.stderr);
    const [header, ...rows] = result.stdout.trimEnd().split("\n");
    assert.match(header!, /^CONTAINER ID {3}IMAGE +CREATED +STATUS +PORTS +NAMES$/);
    assert.equal(rows.length, 1);
    assert.match(rows[0]!, new RegExp(`^[0-9a-f]{12} {3}${testImage} +.* ago +Up .+ +127\\.0\\.0\\.1:\\d+->80/tcp +${name}$`));
  });

  it("ps --format json prints one JSON object per container with docker's keys", async () => {
    const result = await osiris(["ps", "-a", "--filter", `label=${label}`, "--format", "json"], env);
    assert.equal(result.code, 0, result.stderr);
    const rows = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, string>);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.Names, name);
    assert.equal(rows[0]!.State, "running");
    assert.match(rows[0]!.Status!, /^Up /);
    assert.match(rows[0]!.Labels!, new RegExp(`${testRunLabel}=${run.id}`));
  });

  it("ps --format with a Go-template-like template, and with table TEMPLATE", async () => {
    const plain = await osiris(["ps", "--filter", `label=${label}`, "--format", '{{.Names}}\\t{{.State}}\\t{{.Label "osiris-test.run"}}'], env);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, `${name}\trunning\t${run.id}\n`);
    const table = await osiris(["ps", "--filter", `label=${label}`, "--format", "table {{.Names}}\\t{{.State}}"], env);
    assert.equal(table.stdout, `NAMES${" ".repeat(Math.max(10, name.length + 3) - 5)}STATE\n${name}   running\n`);
    const quiet = await osiris(["ps", "-q", "--filter", `name=${name}`], env);
    assert.match(quiet.stdout, /^[0-9a-f]{12}\n$/);
  });

  it("logs prints stdout to stdout and stderr to stderr; -t prefixes RFC 3339 times; --tail limits", async () => {
    assert.ok(await eventually(async () => (await osiris(["logs", name], env)).stdout.includes("hello")));
    const result = await osiris(["logs", name], env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "hello\n");
    assert.equal(result.stderr, "oops\n");
    const stamped = await osiris(["logs", "-t", "--tail", "1", "--since", "1h", name], env);
    assert.match(stamped.stdout + stamped.stderr, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (hello|oops)\n$/);
  });

  it("inspect prints a JSON array of the container, and -f a template over it", async () => {
    const result = await osiris(["inspect", name], env);
    assert.equal(result.code, 0, result.stderr);
    const [container] = JSON.parse(result.stdout) as { name: string; state: string; exitCode: number }[];
    assert.equal(container!.name, name);
    assert.equal(container!.state, "CONTAINER_STATE_RUNNING");
    assert.equal(container!.exitCode, 0);
    const templated = await osiris(["inspect", "-f", "{{.name}} {{.state}}", name], env);
    assert.equal(templated.stdout, `${name} CONTAINER_STATE_RUNNING\n`);
  });

  it("stop, start and restart print the name and change the state; stop of a stopped container succeeds", async () => {
    const stopped = await osiris(["stop", name], env);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(stopped.stdout, `${name}\n`);
    assert.equal((await docker.getContainer(name).inspect()).State.Running, false);
    assert.equal((await osiris(["stop", name], env)).code, 0);

    const started = await osiris(["start", name], env);
    assert.equal(started.stdout, `${name}\n`);
    assert.equal((await docker.getContainer(name).inspect()).State.Running, true);

    const before = (await docker.getContainer(name).inspect()).State.StartedAt;
    const restarted = await osiris(["restart", "-t", "5", name], env);
    assert.equal(restarted.code, 0, restarted.stderr);
    assert.equal(restarted.stdout, `${name}\n`);
    const after = (await docker.getContainer(name).inspect()).State;
    assert.equal(after.Running, true);
    assert.notEqual(after.StartedAt, before);
  });

  it("rm refuses a running container without -f (exit 125, the server's message) and removes it with -f", async () => {
    const refused = await osiris(["rm", name], env);
    assert.equal(refused.code, 125);
    assert.match(refused.stderr, /^Error response from Osiris: FAILED_PRECONDITION: .*running/);
    const removed = await osiris(["rm", "-f", name], env);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, `${name}\n`);
    await assert.rejects(docker.getContainer(name).inspect(), (error: { statusCode?: number }) => error.statusCode === 404);
  });

  it("wait prints the exit code and exits with it", async () => {
    const waiter = run.name("wait");
    const started = await osiris(["run", "-d", "--name", waiter, "--label", label, testImage, "sh", "-c", "sleep 1; exit 7"], env);
    assert.equal(started.code, 0, started.stderr);
    const result = await osiris(["wait", waiter], env);
    assert.equal(result.stdout, "7\n");
    assert.equal(result.code, 7);
  });

  it("run without -d prints the container's output and exits with its exit code; --rm removes it afterwards", async () => {
    const attached = run.name("attached");
    const result = await osiris(
      ["run", "--rm", "--name", attached, "--label", label, testImage, "sh", "-c", "echo out; echo err >&2; exit 3"],
      env,
    );
    assert.equal(result.code, 3, result.stderr);
    assert.equal(result.stdout, "out\n");
    assert.equal(result.stderr, "err\n");
    assert.ok(await eventually(async () => (await docker.listContainers({ all: true, filters: { name: [attached] } })).length === 0));
  });

  it("run without -d passes Ctrl-C to the container as SIGINT and exits with its code", async () => {
    const child = spawn(
      process.execPath,
      ["client-examples/cli/osiris.mjs", "run", "--rm", "--label", label, testImage, "sh", "-c", "echo ready; trap 'exit 5' INT; trap '' TERM; while true; do sleep 0.1; done"],
      { cwd: projectRoot, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
    const killer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    try {
      assert.ok(await eventually(async () => stdout.includes("ready"), 60_000), "the container's output arrives");
      child.kill("SIGINT");
      assert.equal(await exited, 5);
    } finally {
      clearTimeout(killer);
    }
  });

  it("exec runs a command, prints its output apart and exits with its code; -i sends stdin; -e, -u, -w are passed", async () => {
    const target = run.name("exec");
    assert.equal((await osiris(["run", "-d", "--name", target, "--label", label, testImage, ...chatty], env)).code, 0);
    const result = await osiris(["exec", "-e", "WHO=osiris", "-w", "/tmp", "-u", "1000", target, "sh", "-c", 'echo "$WHO $(pwd) $(id -u)"; echo bad >&2; exit 4'], env);
    assert.equal(result.code, 4, result.stderr);
    assert.equal(result.stdout, "osiris /tmp 1000\n");
    assert.equal(result.stderr, "bad\n");
    const piped = await new Promise<CliResult>((resolve) => {
      const child = spawn(process.execPath, ["client-examples/cli/osiris.mjs", "exec", "-i", target, "tr", "a-z", "A-Z"], {
        cwd: projectRoot,
        env: { ...process.env, ...env },
      });
      const output = { stdout: "", stderr: "" };
      child.stdout.on("data", (chunk: Buffer) => (output.stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output.stderr += chunk.toString()));
      child.stdin.end("shout\n");
      const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
      child.once("close", (code) => {
        clearTimeout(timer);
        resolve({ code, ...output });
      });
    });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, "SHOUT\n");
    const tty = await osiris(["exec", "-it", target, "sh"], env);
    assert.equal(tty.code, 125);
    assert.match(tty.stderr, /exec -t is not supported/);
  });

  it("stats --no-stream prints docker's stats table once, and --format json one object per container", async () => {
    const target = run.name("exec");
    const table = await osiris(["stats", "--no-stream", target], env);
    assert.equal(table.code, 0, table.stderr);
    const [header, row, ...rest] = table.stdout.trimEnd().split("\n");
    assert.match(header!, /^CONTAINER ID {3}NAME +CPU % +MEM USAGE \/ LIMIT +MEM % +NET I\/O +BLOCK I\/O +PIDS$/);
    assert.match(row!, new RegExp(`^[0-9a-f]{12} {3}${target} +(\\d+\\.\\d\\d%|--) +[\\d.]+[KMG]?i?B / [\\d.]+[KMG]?i?B +\\d+\\.\\d\\d% `));
    assert.equal(rest.length, 0);
    const json = await osiris(["stats", "--no-stream", "--format", "json", target], env);
    const parsed = JSON.parse(json.stdout) as Record<string, string>;
    assert.equal(parsed.Name, target);
    assert.match(parsed.PIDs!, /^\d+$/);
  });

  it("stats without --no-stream keeps printing samples until interrupted", async () => {
    const target = run.name("exec");
    const child = spawn(process.execPath, ["client-examples/cli/osiris.mjs", "stats", "--format", "{{.Name}} {{.MemUsage}}", target], {
      cwd: projectRoot,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    try {
      assert.ok(await eventually(async () => stdout.split(target).length > 2, 60_000), `two samples arrive: ${stdout}`);
    } finally {
      child.kill("SIGTERM");
    }
  });

  it("images lists the test image in docker's table; -q prints ids; a repository argument filters", async () => {
    const result = await osiris(["images", "osiris-test/busybox"], env);
    assert.equal(result.code, 0, result.stderr);
    const [header, ...rows] = result.stdout.trimEnd().split("\n");
    assert.match(header!, /^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$/);
    assert.equal(rows.length, 1);
    assert.match(rows[0]!, /^osiris-test\/busybox +latest +[0-9a-f]{12} +.+ ago +[\d.]+[kMG]?B$/);
    const quiet = await osiris(["images", "-q", "osiris-test/busybox:latest"], env);
    assert.match(quiet.stdout, /^[0-9a-f]{12}\n$/);
  });

  it("rmi untags a name and reports a missing image with exit 125", async () => {
    // An image of its own (no other container uses it), so the engine deletes it with its name.
    const alias = `osiris-test/cli-rmi:${run.id}`;
    const source = await docker.createContainer({ Image: testImage, Cmd: ["true"], Labels: run.labels });
    try {
      await source.commit({ repo: "osiris-test/cli-rmi", tag: run.id, changes: `LABEL ${testRunLabel}=${run.id}` });
    } finally {
      await source.remove({ force: true });
    }
    try {
      const removed = await osiris(["rmi", alias], env);
      assert.equal(removed.code, 0, removed.stderr);
      assert.match(removed.stdout, new RegExp(`^Untagged: ${alias}\n(Deleted: sha256:[0-9a-f]{64}\n)+$`));
      const missing = await osiris(["rmi", alias], env);
      assert.equal(missing.code, 125);
      assert.match(missing.stderr, /^Error response from Osiris: NOT_FOUND: /);
    } finally {
      await removeLocalImage(alias);
    }
  });

  it("events prints docker-style lines for containers as they change", async () => {
    const watcher = spawn(process.execPath, ["client-examples/cli/osiris.mjs", "events", "--filter", `label=${label}`, "--filter", "event=start"], {
      cwd: projectRoot,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    watcher.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    watcher.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    try {
      const watched = run.name("evented");
      // The watch starts when the call reaches the server: run until one start is seen, a bounded number of times.
      for (let attempt = 0; attempt < 10 && !output.includes(watched); attempt++) {
        await osiris(["run", "--rm", "--name", `${watched}-${attempt}`, "--label", label, testImage, "true"], env);
        await eventually(async () => output.includes(watched), 3000);
      }
      assert.match(output, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:]+\\.\\d{9}Z container start [0-9a-f]{64} \\(.*name=${watched}-\\d.*\\)$`, "m"));
    } finally {
      watcher.kill("SIGTERM");
    }
  });

  it("server errors exit 125 with the code name, the message and BadRequest field violations", async () => {
    const missing = await osiris(["stop", `${name}-missing`], env);
    assert.equal(missing.code, 125);
    assert.equal(missing.stderr, `Error response from Osiris: NOT_FOUND: Container not found: "${name}-missing"\n`);
    const invalid = await osiris(["run", "-d", "--name", "-bad name", "--label", label, testImage], env);
    assert.equal(invalid.code, 125);
    assert.match(invalid.stderr, /^Error response from Osiris: INVALID_ARGUMENT: .*\n {2}name: /);
  });

  it("an unreachable server gets one clear line and exit 125", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const result = await osiris(["ps"], { OSIRIS_URL: url });
    assert.equal(result.code, 125);
    assert.equal(result.stderr, `Cannot connect to Osiris at ${url} (ECONNREFUSED). Is the server running? Set --url or OSIRIS_URL.\n`);
    assert.equal(result.stdout, "");
  });

  it("a bad flag exits 125 naming the flag, before anything is sent", async () => {
    const result = await osiris(["run", "--bogus", testImage], env);
    assert.equal(result.code, 125);
    assert.match(result.stderr, /unknown option '--bogus'\nSee 'osiris run --help'\./);
    const badPort = await osiris(["run", "-p", "80:http", testImage], env);
    assert.equal(badPort.code, 125);
    assert.match(badPort.stderr, /invalid argument "80:http" for "-p, --publish" flag/);
  });
});

describe("osiris pull from the local registry (127.0.0.1:5000)", () => {
  const run = newTestRun();
  // A fresh image whose top layer the engine does not have, so the pull downloads a layer.
  const reference = `127.0.0.1:5000/osiris-test/cli-pull:${run.id}`;
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
    const source = await docker.createContainer({
      Image: testImage,
      Cmd: ["sh", "-c", `printf %s '${randomBytes(64 * 1024).toString("base64")}' > /layer-${run.id}`],
      Labels: { [testRunLabel]: run.id },
    });
    try {
      await source.start();
      await source.wait();
      const [repo, tag] = [reference.slice(0, reference.lastIndexOf(":")), run.id];
      await source.commit({ repo, tag });
    } finally {
      await source.remove({ force: true });
    }
    // The engine wants an X-Registry-Auth header even for a registry without auth.
    const push = await docker.getImage(reference).push({ authconfig: { serveraddress: "127.0.0.1:5000" } });
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(push, (error) => (error ? reject(error) : resolve())));
    await removeLocalImage(reference);
  });
  after(async () => {
    await removeLocalImage(reference);
    await removeTestContainers(run.id);
    await server.close();
  });

  it("prints docker's plain progress lines per layer when stdout is not a terminal, then the reference", async () => {
    const result = await osiris(["pull", reference], { OSIRIS_URL: server.baseUrl });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split("\n");
    assert.equal(lines[0], `${run.id}: Pulling from osiris-test/cli-pull`);
    assert.match(result.stdout, /^[0-9a-f]{12}: Pulling fs layer$/m);
    assert.match(result.stdout, /^[0-9a-f]{12}: Pull complete$/m);
    assert.match(result.stdout, /^Digest: sha256:[0-9a-f]{64}$/m);
    assert.equal(lines.at(-1), reference);
    // Byte-count updates are for terminals only, as docker leaves them out of logs.
    assert.doesNotMatch(result.stdout, /Downloading|Extracting/);
    await docker.getImage(reference).inspect();
  });

  it("pull of a missing tag exits 125 with NOT_FOUND", async () => {
    const result = await osiris(["pull", `127.0.0.1:5000/osiris-test/cli-pull:missing-${run.id}`], { OSIRIS_URL: server.baseUrl });
    assert.equal(result.code, 125);
    assert.match(result.stderr, /^Error response from Osiris: NOT_FOUND: /);
  });
});

describe("osiris --token / OSIRIS_TOKEN against a server that requires tokens", () => {
  let server: TestServer;
  before(async () => {
    const tokens = tokenList({
      inline: JSON.stringify([
        { principal: "cli-operator", role: "operator", token: "cli-operator-token" },
        { principal: "cli-viewer", role: "viewer", token: "cli-viewer-token" },
      ]),
    });
    server = await startTestServer(undefined, { tokens });
  });
  after(async () => {
    await server.close();
  });

  it("sends the token from --url/--token flags or from OSIRIS_URL/OSIRIS_TOKEN", async () => {
    assert.equal((await osiris(["--url", server.baseUrl, "--token", "cli-viewer-token", "ps"])).code, 0);
    assert.equal((await osiris(["ps", "--url", server.baseUrl, "--token", "cli-viewer-token"])).code, 0);
    const fromEnv = await osiris(["ps", "-q"], { OSIRIS_URL: server.baseUrl, OSIRIS_TOKEN: "cli-operator-token" });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
  });

  it("reports a missing token and a viewer's refused action with their codes", async () => {
    const missing = await osiris(["ps"], { OSIRIS_URL: server.baseUrl });
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /^Error response from Osiris: UNAUTHENTICATED: Missing credentials/);
    const refused = await osiris(["stop", "anything"], { OSIRIS_URL: server.baseUrl, OSIRIS_TOKEN: "cli-viewer-token" });
    assert.equal(refused.code, 125);
    assert.match(refused.stderr, /^Error response from Osiris: PERMISSION_DENIED: /);
  });
});
