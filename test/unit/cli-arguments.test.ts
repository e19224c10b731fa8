// The osiris CLI's flags -> request mapping and output formatting, pure: no
// server, no engine. The commands themselves run in test/integration/cli.test.ts.
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { ContainerState, EventType, PullProgressSchema, MountType, Protocol, PullPolicy, RestartPolicyMode } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { eventsRequest, listRequest } from "../../client-examples/cli/arguments/filter-arguments.js";
import { logsRequest } from "../../client-examples/cli/arguments/logs-arguments.js";
import { parsePublish } from "../../client-examples/cli/arguments/ports.js";
import { parseCpus, parseMemory } from "../../client-examples/cli/arguments/quantities.js";
import { runRequest } from "../../client-examples/cli/arguments/run-arguments.js";
import { parseTimeFlag } from "../../client-examples/cli/arguments/times.js";
import type { CliIo } from "../../client-examples/cli/cli-io.js";
import { serverUrl } from "../../client-examples/cli/connection.js";
import { UsageError } from "../../client-examples/cli/failures.js";
import { runCli } from "../../client-examples/cli/main.js";
import { padColumns } from "../../client-examples/cli/output/columns.js";
import { humanDuration, humanSize } from "../../client-examples/cli/output/human-units.js";
import { progressText, PullProgressView } from "../../client-examples/cli/output/pull-progress.js";
import { compileTemplate, parseFormat } from "../../client-examples/cli/output/template.js";

const usageError = (pattern: RegExp) => (error: unknown) => error instanceof UsageError && pattern.test(error.message);

describe("osiris run -p [IP:][HOST:]CONTAINER[/PROTO]", () => {
  const tcp = Protocol.TCP;
  for (const [spec, expected] of [
    ["80", [{ containerPort: 80, hostPort: 0, hostIp: "", protocol: tcp }]],
    ["8080:80", [{ containerPort: 80, hostPort: 8080, hostIp: "", protocol: tcp }]],
    ["127.0.0.1:8080:80", [{ containerPort: 80, hostPort: 8080, hostIp: "127.0.0.1", protocol: tcp }]],
    ["127.0.0.1::80", [{ containerPort: 80, hostPort: 0, hostIp: "127.0.0.1", protocol: tcp }]],
    ["8080:80/udp", [{ containerPort: 80, hostPort: 8080, hostIp: "", protocol: Protocol.UDP }]],
    ["53/UDP", [{ containerPort: 53, hostPort: 0, hostIp: "", protocol: Protocol.UDP }]],
    ["9000:9000/sctp", [{ containerPort: 9000, hostPort: 9000, hostIp: "", protocol: Protocol.SCTP }]],
    ["[::1]:8080:80", [{ containerPort: 80, hostPort: 8080, hostIp: "::1", protocol: tcp }]],
    ["::1:8080:80", [{ containerPort: 80, hostPort: 8080, hostIp: "::1", protocol: tcp }]],
    [
      "0.0.0.0:8000-8001:80-81/udp",
      [
        { containerPort: 80, hostPort: 8000, hostIp: "0.0.0.0", protocol: Protocol.UDP },
        { containerPort: 81, hostPort: 8001, hostIp: "0.0.0.0", protocol: Protocol.UDP },
      ],
    ],
    [
      "80-81",
      [
        { containerPort: 80, hostPort: 0, hostIp: "", protocol: tcp },
        { containerPort: 81, hostPort: 0, hostIp: "", protocol: tcp },
      ],
    ],
  ] as const) {
    it(`reads ${spec}`, () => assert.deepEqual(parsePublish(spec), expected));
  }

  for (const [spec, reason] of [
    ["", /container port is missing/],
    ["80:x", /container port "x" is not a number/],
    ["8080:80/foo", /unknown protocol "foo"/],
    ["70000:80", /host port 70000 is outside 0-65535/],
    ["8080:0", /container port 0 is outside 1-65535/],
    ["1.2.3:8080:80", /"1.2.3" is not an IP address/],
    ["8000-8001:80", /Osiris does not pick a port from a range/],
    ["8000-8002:80-81", /differ in length/],
    ["81-80", /ends before it starts/],
    ["1-2000", /at most 1024 ports/],
  ] as const) {
    it(`refuses ${JSON.stringify(spec)} naming the flag and the reason`, () => {
      assert.throws(() => parsePublish(spec), (error: unknown) => usageError(/"-p, --publish" flag/)(error) && usageError(reason)(error));
    });
  }
});

describe("osiris run -e", () => {
  const request = (env: string[], environment: Record<string, string> = {}) => runRequest("busybox", [], { env }, environment);

  it("reads KEY=VALUE, keeps later = signs in the value and allows an empty value", () => {
    assert.deepEqual(request(["A=1", "URL=a=b=c", "EMPTY="]).env, { A: "1", URL: "a=b=c", EMPTY: "" });
  });
  it("copies KEY alone from this shell's environment, and skips it when unset (as docker does)", () => {
    assert.deepEqual(request(["HOME", "UNSET_HERE"], { HOME: "/root" }).env, { HOME: "/root" });
  });
  it("lets a later -e override an earlier one", () => {
    assert.deepEqual(request(["A=1", "A=2"]).env, { A: "2" });
  });
  it("refuses an empty name naming the flag", () => {
    assert.throws(() => request(["=x"]), usageError(/invalid argument "=x" for "-e, --env" flag: the variable name is empty/));
  });
});

describe("osiris run --memory and --cpus", () => {
  for (const [text, bytes] of [
    ["512m", 512n * 1024n ** 2n],
    ["1g", 1024n ** 3n],
    ["1G", 1024n ** 3n],
    ["1.5g", 1536n * 1024n ** 2n],
    ["2gb", 2n * 1024n ** 3n],
    ["64MiB", 64n * 1024n ** 2n],
    ["6291456", 6291456n],
    ["100k", 102400n],
  ] as const) {
    it(`reads --memory ${text} as ${bytes} bytes`, () => assert.equal(parseMemory(text), bytes));
  }
  for (const text of ["abc", "-1", "1x", "1.2.3g", ""]) {
    it(`refuses --memory ${JSON.stringify(text)}`, () => assert.throws(() => parseMemory(text), usageError(/"-m, --memory" flag: expected a size like 512m/)));
  }

  for (const [text, nanos] of [
    ["1.5", 1_500_000_000n],
    ["0.5", 500_000_000n],
    ["2", 2_000_000_000n],
    ["1.1", 1_100_000_000n],
    ["0.000000001", 1n],
  ] as const) {
    it(`reads --cpus ${text} as ${nanos} nano CPUs`, () => assert.equal(parseCpus(text), nanos));
  }
  it("refuses --cpus with more than nine decimals, or not a number", () => {
    assert.throws(() => parseCpus("1.0000000001"), usageError(/too precise/));
    assert.throws(() => parseCpus("one"), usageError(/"--cpus" flag/));
    assert.throws(() => parseCpus("-1"), usageError(/"--cpus" flag/));
  });

  it("sends memory and cpus as resources, and --cpus 0 as no CPU limit", () => {
    const limited = runRequest("busybox", [], { memory: "512m", cpus: "1.5" }, {});
    assert.equal(limited.resources?.memoryBytes, 536870912n);
    assert.deepEqual(limited.resources?.cpu, { case: "nanoCpus", value: 1_500_000_000n });
    assert.deepEqual(runRequest("busybox", [], { cpus: "0" }, {}).resources?.cpu, { case: undefined });
    assert.equal(runRequest("busybox", [], {}, {}).resources, undefined);
  });
});

describe("osiris run: the other flags", () => {
  it("maps IMAGE, COMMAND, --name, --label, -w, -u and --entrypoint to the request", () => {
    const request = runRequest(
      "busybox:1.36",
      ["sh", "-c", "echo hi"],
      { name: "web", label: ["team=a", "flag"], workdir: "/srv", user: "1000:1000", entrypoint: "/bin/sh" },
      {},
    );
    assert.equal(request.image, "busybox:1.36");
    assert.deepEqual(request.command, ["sh", "-c", "echo hi"]);
    assert.equal(request.name, "web");
    assert.deepEqual(request.labels, { team: "a", flag: "" });
    assert.equal(request.workingDir, "/srv");
    assert.equal(request.user, "1000:1000");
    assert.deepEqual(request.entrypoint, ["/bin/sh"]);
  });

  it("maps --pull missing|always|never to the pull policy and refuses other values", () => {
    assert.equal(runRequest("b", [], { pull: "missing" }, {}).pullPolicy, PullPolicy.IF_NOT_PRESENT);
    assert.equal(runRequest("b", [], { pull: "always" }, {}).pullPolicy, PullPolicy.ALWAYS);
    assert.equal(runRequest("b", [], { pull: "never" }, {}).pullPolicy, PullPolicy.NEVER);
    assert.throws(() => runRequest("b", [], { pull: "sometimes" }, {}), usageError(/"--pull" flag: use missing, always or never/));
  });

  it("maps --restart names, with a retry count for on-failure only", () => {
    assert.deepEqual(runRequest("b", [], { restart: "unless-stopped" }, {}).restartPolicy, { mode: RestartPolicyMode.UNLESS_STOPPED, maxRetryCount: 0 });
    assert.deepEqual(runRequest("b", [], { restart: "on-failure:3" }, {}).restartPolicy, { mode: RestartPolicyMode.ON_FAILURE, maxRetryCount: 3 });
    assert.throws(() => runRequest("b", [], { restart: "always:3" }, {}), usageError(/only be used with on-failure/));
    assert.throws(() => runRequest("b", [], { restart: "sometimes" }, {}), usageError(/"--restart" flag/));
  });

  it("refuses --rm with a restart policy, as docker does", () => {
    assert.throws(() => runRequest("b", [], { rm: true, restart: "always" }, {}), usageError(/conflicting options: --restart and --rm/));
    assert.doesNotThrow(() => runRequest("b", [], { rm: true, restart: "no" }, {}));
  });

  it("leaves --rm to the engine only with -d (the CLI removes an attached container after reading its output)", () => {
    assert.equal(runRequest("b", [], { rm: true, detach: true }, {}).autoRemove, true);
    assert.equal(runRequest("b", [], { rm: true }, {}).autoRemove, false);
  });

  it("maps -v and --tmpfs to mounts", () => {
    assert.deepEqual(runRequest("b", [], { volume: ["data:/data", "/srv/site:/site:ro"], tmpfs: ["/tmp"] }, {}).mounts, [
      { type: MountType.VOLUME, source: "data", target: "/data", readOnly: false },
      { type: MountType.BIND, source: "/srv/site", target: "/site", readOnly: true },
      { type: MountType.TMPFS, source: "", target: "/tmp", readOnly: false },
    ]);
    assert.throws(() => runRequest("b", [], { volume: ["/anonymous"] }, {}), usageError(/anonymous volumes are not supported/));
  });
});

describe("osiris ps --filter and events --filter", () => {
  it("maps label=, status= and name= to the list request", () => {
    const request = listRequest({ all: true, filter: ["label=app=web", "label=tier", "status=exited", "status=created", "name=/web"] });
    assert.deepEqual(request.labelSelector, { app: "web", tier: "" });
    assert.deepEqual(request.states, [ContainerState.EXITED, ContainerState.CREATED]);
    assert.equal(request.namePrefix, "web");
    assert.equal(request.all, true);
  });
  it("refuses an unknown filter, an unknown status and a filter without =", () => {
    assert.throws(() => listRequest({ filter: ["ancestor=busybox"] }), usageError(/unknown filter "ancestor"/));
    assert.throws(() => listRequest({ filter: ["status=sleeping"] }), usageError(/unknown status/));
    assert.throws(() => listRequest({ filter: ["label"] }), usageError(/expected key=value/));
  });
  it("maps events filters container=, event= and label=", () => {
    const request = eventsRequest({ filter: ["container=web", "event=start", "event=die", "label=a=b", "type=container"] });
    assert.equal(request.container, "web");
    assert.deepEqual(request.types, [EventType.STARTED, EventType.DIED]);
    assert.deepEqual(request.labelSelector, { a: "b" });
    assert.throws(() => eventsRequest({ filter: ["type=image"] }), usageError(/container events only/));
  });
});

describe("osiris logs --tail, --since, --until", () => {
  const now = new Date("2026-11-29T12:00:00Z");
  it("reads --tail N and --tail all", () => {
    assert.equal(logsRequest("web", { tail: "20" }, now).tailLines, 20);
    assert.equal(logsRequest("web", { tail: "all" }, now).tailLines, undefined);
    assert.throws(() => logsRequest("web", { tail: "-3" }, now), usageError(/"-n, --tail" flag/));
  });
  it("reads --since as a Go duration ago, an RFC 3339 time, a date or Unix seconds", () => {
    assert.deepEqual(parseTimeFlag("10m", "--since", now), { seconds: BigInt(Date.parse("2026-11-29T11:50:00Z") / 1000), nanos: 0 });
    assert.deepEqual(parseTimeFlag("1h30m", "--since", now), { seconds: BigInt(Date.parse("2026-11-29T10:30:00Z") / 1000), nanos: 0 });
    assert.deepEqual(parseTimeFlag("2026-01-02T15:04:05.123456789Z", "--since", now), {
      seconds: BigInt(Date.parse("2026-01-02T15:04:05Z") / 1000),
      nanos: 123456789,
    });
    assert.deepEqual(parseTimeFlag("1700000000.5", "--since", now), { seconds: 1700000000n, nanos: 500000000 });
    assert.throws(() => parseTimeFlag("yesterday", "--since", now), usageError(/"--since" flag/));
  });
});

describe("osiris output", () => {
  it("pads columns as docker's tabwriter does: max(10, widest + 3), the last column unpadded", () => {
    assert.deepEqual(padColumns(["NAMES\tSTATUS", "a-long-container-name\tUp 2 seconds", "b\tExited (0)"]), [
      "NAMES                   STATUS",
      "a-long-container-name   Up 2 seconds",
      "b                       Exited (0)",
    ]);
    assert.deepEqual(padColumns(["A\tB\tC"]), ["A         B         C"]);
  });

  it("renders Go-template-like fields, methods, functions and \\t escapes", () => {
    const data = { Names: "web", Status: "Up 2 seconds", Label: (key: string) => (key === "app" ? "shop" : "") };
    assert.equal(compileTemplate("{{.Names}}\\t{{.Status}}").render(data), "web\tUp 2 seconds");
    assert.equal(compileTemplate('{{ .Label "app" }}/{{upper .Names}}/{{json .Names}}').render(data), 'shop/WEB/"web"');
    assert.equal(compileTemplate("{{.state}} {{.labels.app}}").render({ state: "RUNNING", labels: { app: "x" } }), "RUNNING x");
    assert.throws(() => compileTemplate("{{.Nope}}").render(data), usageError(/can't evaluate field Nope/));
    assert.throws(() => compileTemplate("{{.Names"), usageError(/unclosed action/));
  });

  it("reads --format table, table TEMPLATE, json and a bare template", () => {
    assert.deepEqual(parseFormat(undefined, "D"), { kind: "table", template: "D" });
    assert.deepEqual(parseFormat("table {{.Names}}", "D"), { kind: "table", template: "{{.Names}}" });
    assert.deepEqual(parseFormat("json", "D"), { kind: "json" });
    assert.deepEqual(parseFormat("{{.ID}}", "D"), { kind: "template", template: "{{.ID}}" });
  });

  it("words durations and sizes as docker's go-units does", () => {
    assert.equal(humanDuration(500), "Less than a second");
    assert.equal(humanDuration(1000), "1 second");
    assert.equal(humanDuration(45_000), "45 seconds");
    assert.equal(humanDuration(90_000), "About a minute");
    assert.equal(humanDuration(3_600_000), "About an hour");
    assert.equal(humanDuration(5 * 3_600_000), "5 hours");
    assert.equal(humanDuration(3 * 86_400_000), "3 days");
    assert.equal(humanSize(2_216_000), "2.216MB");
    assert.equal(humanSize(999), "999B");
  });

  it("draws pull progress as docker does: a 50-wide bar only on terminals wider than 110 columns", () => {
    assert.equal(progressText(1_000_000n, 2_000_000n, 120), `[${"=".repeat(25)}>${" ".repeat(25)}]      1MB/2MB`);
    assert.equal(progressText(1_000_000n, 2_000_000n, 80), "     1MB/2MB");
    assert.equal(progressText(0n, 0n, 120), "");
  });
});

describe("osiris pull progress", () => {
  const step = (layerId: string, status: string, current = 0n, total = 0n) => create(PullProgressSchema, { layerId, status, current, total });
  const record = (isTTY: boolean) => {
    let written = "";
    const output = { isTTY, columns: 80, write: (chunk: string | Uint8Array) => ((written += String(chunk)), true), once: () => undefined };
    return { view: new PullProgressView(output), written: () => written };
  };

  it("on a terminal keeps one line per layer and rewrites it in place with cursor moves", () => {
    const { view, written } = record(true);
    view.show(step("latest", "Pulling from app"));
    view.show(step("aaa", "Pulling fs layer"));
    view.show(step("bbb", "Pulling fs layer"));
    view.show(step("aaa", "Downloading", 500n, 1000n));
    assert.equal(
      written(),
      "\x1b[2K\rlatest: Pulling from app\n" +
        "\n\x1b[1A\x1b[2K\raaa: Pulling fs layer\r\x1b[1B" +
        "\n\x1b[1A\x1b[2K\rbbb: Pulling fs layer\r\x1b[1B" +
        // aaa is two lines up now.
        "\x1b[2A\x1b[2K\raaa: Downloading     500B/1kB\r\x1b[2B",
    );
  });

  it("elsewhere prints plain lines and leaves out byte-count updates, as docker does", () => {
    const { view, written } = record(false);
    view.show(step("latest", "Pulling from app"));
    view.show(step("aaa", "Downloading", 500n, 1000n));
    view.show(step("aaa", "Pull complete"));
    view.show(step("", "Digest: sha256:abc"));
    assert.equal(written(), "latest: Pulling from app\naaa: Pull complete\nDigest: sha256:abc\n");
  });
});

describe("osiris server address", () => {
  it("takes --url, else OSIRIS_URL, else the server's default 127.0.0.1:8080, adding http:// when missing", () => {
    assert.equal(serverUrl({ url: "https://osiris.example:8443" }, { OSIRIS_URL: "http://other:1" }), "https://osiris.example:8443");
    assert.equal(serverUrl({}, { OSIRIS_URL: "127.0.0.1:9090" }), "http://127.0.0.1:9090");
    assert.equal(serverUrl({}, {}), "http://127.0.0.1:8080");
    assert.throws(() => serverUrl({ url: "ftp://x" }, {}), usageError(/scheme must be http or https/));
  });
});

/** Runs the CLI in this process with captured output; nothing here reaches a server. */
async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { stdout: "", stderr: "" };
  stdout.on("data", (chunk: Buffer) => (chunks.stdout += chunk.toString()));
  stderr.on("data", (chunk: Buffer) => (chunks.stderr += chunk.toString()));
  const io: CliIo = { stdout, stderr, stdin: new PassThrough(), env: {}, onInterrupt: () => () => undefined };
  // A port nothing listens on: a command that tried to connect would say "Cannot connect".
  const code = await runCli(["--url", "http://127.0.0.1:9", ...argv], io);
  return { code, ...chunks };
}

describe("osiris refuses bad input before sending anything, with exit code 125", () => {
  for (const [argv, message] of [
    [["run", "-p", "80:x", "busybox"], /invalid argument "80:x" for "-p, --publish" flag/],
    [["run", "--memory", "lots", "busybox"], /invalid argument "lots" for "-m, --memory" flag/],
    [["run", "--cpus", "fast", "busybox"], /"--cpus" flag/],
    [["run", "--rm", "--restart", "always", "busybox"], /conflicting options/],
    [["run"], /missing required argument 'IMAGE'/],
    [["run", "--bogus", "busybox"], /unknown option '--bogus'/],
    [["run", "-it", "busybox", "sh"], /run -i\/-t is not supported/],
    [["ps", "--filter", "colour=red"], /unknown filter "colour"/],
    [["logs", "--tail", "many", "web"], /"-n, --tail" flag/],
    [["ps", "--format", "{{.Nope}}"], /can't evaluate field Nope/],
    [["frobnicate"], /unknown command 'frobnicate'/],
  ] as const) {
    it(`osiris ${argv.join(" ")}`, async () => {
      const result = await cli([...argv]);
      assert.equal(result.code, 125);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, "");
    });
  }

  it("passes flags after IMAGE to the container's command, as docker does", () => {
    // commander's passThroughOptions: `run busybox ls -l` must not read -l as --label.
    return cli(["run", "busybox", "ls", "-l", "--bogus"]).then((result) => {
      assert.match(result.stderr, /Cannot connect to Osiris at http:\/\/127\.0\.0\.1:9/);
      assert.equal(result.stderr.trim().split("\n").length, 1, "one line, no stack");
    });
  });

  it("prints help for each command and exits 0", async () => {
    for (const command of ["run", "stop", "start", "restart", "rm", "ps", "logs", "events", "pull", "inspect", "wait", "stats", "exec", "images", "rmi"]) {
      const result = await cli([command, "--help"]);
      assert.equal(result.code, 0, command);
      assert.match(result.stdout, new RegExp(`Usage: osiris ${command}`));
    }
  });
});
