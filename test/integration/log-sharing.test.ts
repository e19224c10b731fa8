import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import {
  DockerService,
  StreamDockerContainerLogsRequestSchema,
  type StreamDockerContainerLogsRequest,
} from "../../gen/osiris/docker/v1/docker_management_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { managedLabel } from "../../server/containers/grammar/labels.js";
import { docker, eventually, newTestRun, removeTestContainers, testImage } from "../support/engine-fixtures.js";
import { metric } from "../support/server-metrics.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";

type ProtocolName = "grpc" | "grpc-web" | "connect-json";
const protocols: ProtocolName[] = ["grpc", "connect-json", "grpc-web"];
const run = newTestRun();
const engineSocket = "/var/run/docker.sock";
const logsPath = "/osiris.docker.v1.DockerService/StreamDockerContainerLogs";

/**
 * Connections between this process and the engine's socket, as the kernel
 * sees them: the engine's ends of its socket name their peers, and `ss -p`
 * names the process holding each peer. Other clients of the shared engine
 * (other tests, other people) are not counted.
 */
function engineConnectionsOf(pid: number): number {
  const peers = new Set(
    execFileSync("ss", ["-xH", "src", engineSocket], { encoding: "utf8" })
      .split("\n")
      .map((line) => line.trim().split(/\s+/)[7])
      .filter((inode): inode is string => inode !== undefined && inode !== "0"),
  );
  return execFileSync("ss", ["-xpH"], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.includes(`pid=${pid},`))
    .filter((line) => peers.has(line.trim().split(/\s+/)[5] ?? "")).length;
}

/** A container that prints `line1`, `line2`, ... every 10 ms until SIGUSR1, then exits 0. */
const numberedLines = ["sh", "-c", 'trap "exit 0" USR1; i=0; while true; do i=$((i+1)); echo line$i; sleep 0.01; done'];

interface Follower {
  /** Line numbers in the order received. */
  numbers: number[];
  /** Times of the lines, when asked with timestamps. */
  times: bigint[];
  /** How the stream ended: "ok", or the error's code. */
  done: Promise<"ok" | Code>;
  abort(): void;
}

function follow(client: Client<typeof DockerService>, request: MessageInitShape<typeof StreamDockerContainerLogsRequestSchema>): Follower {
  const controller = new AbortController();
  const numbers: number[] = [];
  const times: bigint[] = [];
  let pending = "";
  const done = (async (): Promise<"ok" | Code> => {
    try {
      for await (const message of client.streamDockerContainerLogs(request as StreamDockerContainerLogsRequest, { signal: controller.signal })) {
        pending += Buffer.from(message.data).toString();
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) numbers.push(Number(/^line(\d+)/.exec(line)?.[1] ?? Number.NaN));
        if (message.timestamp) times.push(message.timestamp.seconds * 1_000_000_000n + BigInt(message.timestamp.nanos));
      }
      return "ok";
    } catch (error) {
      return (error as { code?: Code }).code ?? Code.Unknown;
    }
  })();
  return { numbers, times, done, abort: () => controller.abort() };
}

/** Whether `numbers` are first, first+1, ... with nothing missing, repeated or out of order. */
function contiguous(numbers: number[]): boolean {
  return numbers.length > 0 && numbers.every((n, i) => n === numbers[0]! + i);
}

describe("followers of one container's logs share one engine log stream", () => {
  let server: ServerProcess;
  let clients: Record<ProtocolName, Client<typeof DockerService>>;
  const transports: Transport[] = [];

  before(async () => {
    server = await startServerProcess({ OSIRIS_MAX_STREAMS_PER_PRINCIPAL: "1000", OSIRIS_RATE_LIMIT: "100000" });
    const made: Record<ProtocolName, Transport> = {
      grpc: createGrpcTransport({ baseUrl: server.url }),
      "connect-json": createConnectTransport({ baseUrl: server.url, httpVersion: "1.1", useBinaryFormat: false }),
      "grpc-web": createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    };
    transports.push(...Object.values(made));
    clients = {
      grpc: createClient(DockerService, made.grpc),
      "connect-json": createClient(DockerService, made["connect-json"]),
      "grpc-web": createClient(DockerService, made["grpc-web"]),
    };
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server?.stop();
  });

  const startContainer = async (cmd: string[], tty = false): Promise<string> => {
    const container = await docker.createContainer({ Image: testImage, Cmd: cmd, Tty: tty, Labels: { ...run.labels, [managedLabel]: "true" } });
    await container.start();
    return container.id;
  };
  /** Engine connections once idle keep-alive sockets (of inspects and one-off reads) have closed. */
  const settledConnections = async (atMost: number) => eventually(async () => engineConnectionsOf(server.child.pid!) <= atMost, 30_000);

  it("holds ONE engine log connection for 100 followers over gRPC, Connect and gRPC-Web, and the last to leave closes it", async (t) => {
    const pid = server.child.pid!;
    const id = await startContainer(numberedLines);
    // Whatever Osiris keeps open without followers (an events subscription, a keep-alive socket).
    await settledConnections(Number.POSITIVE_INFINITY);
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const baseline = engineConnectionsOf(pid);
    const followers = Array.from({ length: 100 }, (_, i) => follow(clients[protocols[i % 3]!], { container: id, follow: true, tailLines: 0 }));
    assert.ok(await eventually(async () => followers.every((f) => f.numbers.length > 0), 60_000), "every follower gets output");
    assert.equal(await metric(server.url, "osiris_engine_log_streams"), 1, "one engine follow connection, by Osiris's count");
    assert.equal(await metric(server.url, "osiris_log_followers"), 100);
    assert.equal(await metric(server.url, "osiris_engine_log_connections_total"), 1, "opened once");
    assert.ok(await settledConnections(baseline + 1), `the kernel counts ${baseline} + 1 engine connections of Osiris (now ${engineConnectionsOf(pid)})`);
    t.diagnostic(`100 followers: ${engineConnectionsOf(pid)} engine connections of Osiris (${baseline} without followers)`);
    assert.ok(followers.every((f) => f.numbers.length > 0 && contiguous(f.numbers)), "every follower's lines are in order, none missing");

    for (const follower of followers) follower.abort();
    const codes = await Promise.all(followers.map((f) => f.done));
    assert.ok(codes.every((code) => code === Code.Canceled), "every follower ends CANCELED on the client");
    assert.ok(await eventually(async () => (await metric(server.url, "osiris_engine_log_streams")) === 0, 20_000), "the shared connection closed");
    assert.ok(await settledConnections(baseline), `engine connections back to ${baseline} (now ${engineConnectionsOf(pid)})`);
    await docker.getContainer(id).kill({ signal: "USR1" });
  });

  it("gives every follower every line in order, a late one its tail then live lines with no gap or duplicate, and ends them all when the container exits", async () => {
    const id = await startContainer(numberedLines);
    const early = Array.from({ length: 30 }, (_, i) => follow(clients[protocols[i % 3]!], { container: id, follow: true }));
    assert.ok(await eventually(async () => early.every((f) => f.numbers.length >= 20), 60_000), "the early followers are following");
    /** Late followers of three kinds, joining in three rounds; `seenBefore`: lines the early ones had when it joined. */
    const late: { name: string; follower: Follower; seenBefore: number; checkStart(first: number): void }[] = [];
    for (let round = 0; round < 3; round++) {
      const seenBefore = Math.max(...early.map((f) => f.numbers.length));
      late.push(
        {
          name: `tail 5 over gRPC, round ${round}`,
          follower: follow(clients.grpc, { container: id, follow: true, tailLines: 5 }),
          seenBefore,
          checkStart: (first) => assert.ok(first >= seenBefore - 5, `starts with about the last 5 lines (${first}, ${seenBefore} logged before)`),
        },
        {
          name: `tail 0 over Connect, round ${round}`,
          follower: follow(clients["connect-json"], { container: id, follow: true, tailLines: 0 }),
          seenBefore,
          checkStart: (first) => assert.ok(first >= seenBefore, `starts with live lines (${first}, ${seenBefore} logged before)`),
        },
        {
          name: `all with timestamps over gRPC-Web, round ${round}`,
          follower: follow(clients["grpc-web"], { container: id, follow: true, timestamps: true }),
          seenBefore,
          checkStart: (first) => assert.equal(first, 1, "starts with the first line"),
        },
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    assert.ok(await eventually(async () => late.every(({ follower }) => follower.numbers.length >= 30), 60_000), "the late followers are following");
    await docker.getContainer(id).kill({ signal: "USR1" });

    const ends = await Promise.all([...early, ...late.map((entry) => entry.follower)].map((f) => f.done));
    assert.ok(ends.every((end) => end === "ok"), `every follower ended cleanly with the container: ${JSON.stringify(ends)}`);
    const last = early[0]!.numbers.at(-1)!;
    for (const [i, follower] of early.entries()) {
      assert.ok(contiguous(follower.numbers), `early follower ${i}: in order, nothing missing or repeated`);
      assert.equal(follower.numbers[0], 1, `early follower ${i} starts at the first line`);
      assert.equal(follower.numbers.at(-1), last, `early follower ${i} ends at the last line`);
    }
    for (const entry of late) {
      const { numbers, times } = entry.follower;
      assert.ok(contiguous(numbers), `${entry.name}: in order across the seam, nothing missing or repeated (${numbers.slice(0, 8).join(",")}...)`);
      assert.equal(numbers.at(-1), last, `${entry.name} ends at the last line`);
      entry.checkStart(numbers[0]!);
      if (times.length > 0) assert.ok(times.every((time, i) => i === 0 || time >= times[i - 1]!), `${entry.name}: times never go back`);
    }
    assert.ok(await eventually(async () => (await metric(server.url, "osiris_engine_log_streams")) === 0, 20_000), "the shared connection closed");
  });

  it("starts a follower at `since` and joins it to the live lines", async () => {
    const id = await startContainer(numberedLines);
    const stamped = follow(clients.grpc, { container: id, follow: true, timestamps: true });
    assert.ok(await eventually(async () => stamped.times.length >= 40, 60_000));
    const since = stamped.times[20]!;
    const wanted = stamped.numbers[20]!;
    const fromSince = follow(clients["connect-json"], {
      container: id,
      follow: true,
      since: { seconds: since / 1_000_000_000n, nanos: Number(since % 1_000_000_000n) },
    });
    assert.ok(await eventually(async () => fromSince.numbers.length >= 60, 60_000));
    await docker.getContainer(id).kill({ signal: "USR1" });
    assert.deepEqual(await Promise.all([stamped.done, fromSince.done]), ["ok", "ok"]);
    assert.equal(fromSince.numbers[0], wanted, "the first line is the one logged at since");
    assert.ok(contiguous(fromSince.numbers), "in order, nothing missing or repeated");
    assert.equal(fromSince.numbers.at(-1), stamped.numbers.at(-1));
  });

  it("drops a follower that stops reading with RESOURCE_EXHAUSTED, while the others read on to the end", async () => {
    // Waits for SIGUSR2, then prints 30 MB at once, then "burst-done", then waits for SIGUSR1.
    const pad = "0123456789".repeat(10);
    const id = await startContainer([
      "sh",
      "-c",
      `trap "exit 0" USR1; trap "yes ${pad} | head -c 30000000; echo burst-done" USR2; while true; do sleep 0.05; done`,
    ]);
    // The stalled one: a raw HTTP/2 stream that is paused, so its window closes after the first bytes.
    const session = http2.connect(server.url);
    session.on("error", () => undefined);
    try {
      const stalled = session.request({ ":method": "POST", ":path": logsPath, "content-type": "application/grpc", te: "trailers" });
      stalled.on("error", () => undefined);
      const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => stalled.once("trailers", resolve));
      stalled.pause();
      const request = toBinary(StreamDockerContainerLogsRequestSchema, create(StreamDockerContainerLogsRequestSchema, { container: id, follow: true, tailLines: 0 }));
      const head = Buffer.alloc(5);
      head.writeUInt32BE(request.length, 1);
      stalled.end(Buffer.concat([head, Buffer.from(request)]));

      const readers = protocols.map((protocol) => {
        const controller = new AbortController();
        let bytes = 0;
        let tail = "";
        const done = (async () => {
          for await (const message of clients[protocol].streamDockerContainerLogs({ container: id, follow: true, tailLines: 0 }, { signal: controller.signal })) {
            bytes += message.data.length;
            tail = (tail + Buffer.from(message.data).toString()).slice(-20);
            if (tail.includes("burst-done")) return;
          }
        })();
        return { protocol, done, bytes: () => bytes, stop: () => controller.abort() };
      });
      assert.ok(await eventually(async () => (await metric(server.url, "osiris_log_followers")) === 4, 30_000), "four followers registered");
      await docker.getContainer(id).kill({ signal: "USR2" });
      // The readers get all 30 MB while the stalled one has not read a byte more.
      await Promise.all(readers.map((reader) => reader.done));
      for (const reader of readers) assert.ok(reader.bytes() >= 30_000_000, `${reader.protocol} reader got the whole burst (${reader.bytes()} bytes)`);
      assert.ok(await eventually(async () => (await metric(server.url, "osiris_log_followers")) === 3, 30_000), "the stalled follower was dropped");
      stalled.resume();
      const { "grpc-status": status, "grpc-message": message } = await trailers;
      assert.equal(status, String(Code.ResourceExhausted), "RESOURCE_EXHAUSTED, as a slow event watcher gets");
      assert.match(decodeURIComponent(String(message)), /MiB of output behind/);
      for (const reader of readers) reader.stop();
      await docker.getContainer(id).kill({ signal: "USR1" });
    } finally {
      session.destroy();
    }
  });

  it("serves a newcomer even while the only other follower has stopped reading, and drops that one", async () => {
    const pad = "0123456789".repeat(10);
    // SIGUSR2: 30 MB at once; SIGHUP: one line "fresh"; SIGUSR1: exit.
    const id = await startContainer([
      "sh",
      "-c",
      `trap "exit 0" USR1; trap "echo fresh" HUP; trap "yes ${pad} | head -c 30000000" USR2; while true; do sleep 0.05; done`,
    ]);
    const session = http2.connect(server.url);
    session.on("error", () => undefined);
    try {
      const stalled = session.request({ ":method": "POST", ":path": logsPath, "content-type": "application/grpc", te: "trailers" });
      stalled.on("error", () => undefined);
      const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => stalled.once("trailers", resolve));
      stalled.pause();
      const request = toBinary(StreamDockerContainerLogsRequestSchema, create(StreamDockerContainerLogsRequestSchema, { container: id, follow: true, tailLines: 0 }));
      const head = Buffer.alloc(5);
      head.writeUInt32BE(request.length, 1);
      stalled.end(Buffer.concat([head, Buffer.from(request)]));
      assert.ok(await eventually(async () => (await metric(server.url, "osiris_log_followers")) === 1, 30_000), "the stalled follower registered");
      await docker.getContainer(id).kill({ signal: "USR2" });
      // The burst is printed; the shared connection waits for its only follower, which does not read.
      await new Promise((resolve) => setTimeout(resolve, 3_000));

      const controller = new AbortController();
      let text = "";
      const newcomer = (async () => {
        for await (const message of clients["connect-json"].streamDockerContainerLogs({ container: id, follow: true, tailLines: 0 }, { signal: controller.signal })) {
          text = (text + Buffer.from(message.data).toString()).slice(-100);
          if (text.includes("fresh\n")) return true;
        }
        return false;
      })();
      assert.ok(await eventually(async () => (await metric(server.url, "osiris_log_followers")) === 2, 30_000), "the newcomer registered");
      await docker.getContainer(id).kill({ signal: "HUP" });
      assert.equal(await newcomer, true, "the newcomer gets the line printed after it came");
      stalled.resume();
      assert.equal((await trailers)["grpc-status"], String(Code.ResourceExhausted), "the stalled follower was dropped");
      controller.abort();
      await docker.getContainer(id).kill({ signal: "USR1" });
    } finally {
      session.destroy();
    }
  });

  it("shares a TTY container's raw stream too", async () => {
    const id = await startContainer(numberedLines, true);
    const followers = protocols.map((protocol) => follow(clients[protocol], { container: id, follow: true }));
    assert.ok(await eventually(async () => followers.every((f) => f.numbers.length >= 20), 60_000));
    assert.equal(await metric(server.url, "osiris_engine_log_streams"), 1);
    await docker.getContainer(id).kill({ signal: "USR1" });
    assert.deepEqual(await Promise.all(followers.map((f) => f.done)), ["ok", "ok", "ok"]);
    for (const follower of followers) {
      assert.ok(contiguous(follower.numbers) && follower.numbers[0] === 1, "every line, in order");
      assert.equal(follower.numbers.at(-1), followers[0]!.numbers.at(-1));
    }
  });
});
