import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import http2 from "node:http2";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  DockerService,
  StreamDockerContainerLogsRequestSchema,
  WaitDockerContainerRequestSchema,
  WatchDockerEventsRequestSchema,
} from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { managedLabel } from "../../server/containers/grammar/labels.js";
import { parseTokenList } from "../../server/security/tokens.js";
import { docker, eventually, newTestRun, removeTestContainers, testImage } from "../support/engine-fixtures.js";
import { openFiles, residentMegabytes, steadyMemoryOptions } from "../support/process-stats.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const run = newTestRun();
const viewerToken = `viewer-${randomUUID()}`;
const logsPath = "/osiris.docker.v1.DockerService/StreamDockerContainerLogs";
const eventsPath = "/osiris.docker.v1.DockerService/WatchDockerEvents";

/** One gRPC / gRPC-Web / Connect-streaming envelope holding a binary message. */
function envelope<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): Buffer {
  const bytes = toBinary(schema, create(schema, init));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([head, Buffer.from(bytes)]);
}

/** A client that sends one streaming call, never reads the answer, and can vanish. */
interface AbandonedCall {
  /** Destroys the TCP connection, as a killed client or a pulled cable would. */
  vanish(): void;
}

/** Over HTTP/2 (gRPC): the stream is paused, so the client grants no flow-control window past the first bytes. */
function abandonOverHttp2(port: number, path: string, body: Buffer, headers: Record<string, string>): AbandonedCall {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => undefined);
  const session = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => socket });
  session.on("error", () => undefined);
  const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...headers });
  stream.on("error", () => undefined);
  stream.pause();
  stream.end(body);
  return { vanish: () => socket.destroy() };
}

/** Over HTTP/1.1: the socket is paused, so the kernel's buffers fill and the server's writes stop. */
function abandonOverHttp1(port: number, path: string, contentType: string, body: Buffer, headers: Record<string, string>): AbandonedCall {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => undefined);
  const headerLines = Object.entries({ "content-type": contentType, "content-length": String(body.length), ...headers })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  socket.write(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n${headerLines}\r\n`);
  socket.write(body);
  socket.pause();
  return { vanish: () => socket.destroy() };
}

async function metricsText(baseUrl: string): Promise<string> {
  return (await fetch(`${baseUrl}/metrics`)).text();
}

/** The sum of every series of a metric, labelled or not. */
function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))) sum += Number(match[1]);
  return sum;
}

/** Server-side connections of this port whose send queue is not empty: the peer is not reading. */
function backedUpConnections(port: number): number {
  const out = execFileSync("ss", ["-tnH", "state", "established", `( sport = :${port} )`], { encoding: "utf8" });
  return out
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter((columns) => columns.length >= 2 && Number(columns[1]) > 0).length;
}

describe("streams whose client stops reading and then vanishes", () => {
  let server: ServerProcess;
  let chatty = "";
  let labelled = "";
  const perRound = { logsHttp2: 100, logsHttp1: 100, eventsHttp2: 25, eventsHttp1: 25 };
  const roundSize = Object.values(perRound).reduce((sum, count) => sum + count, 0);
  const rounds = 4;
  const auth = { authorization: `Bearer ${viewerToken}` };

  before(async () => {
    server = await startServerProcess({
      ...steadyMemoryOptions,
      OSIRIS_TOKENS: JSON.stringify([{ principal: "dashboard", role: "viewer", token: viewerToken }]),
      // Exactly one round's worth: a round is admitted in full only if the one before released every slot.
      OSIRIS_MAX_STREAMS_PER_PRINCIPAL: String(roundSize),
      OSIRIS_RATE_LIMIT: "100000",
      OSIRIS_LOG_LEVEL: "info",
    });
    const labels = { ...run.labels, [managedLabel]: "true" };
    // 20 MB of output, far more than socket buffers and HTTP/2 windows hold, then quiet: followers are
    // held back by back-pressure, not by the engine, and the engine does no work once they block.
    const printer = await docker.createContainer({
      Image: testImage,
      name: run.name("printer"),
      Labels: labels,
      Cmd: ["sh", "-c", "yes 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef | head -c 20000000; echo printed; exec sleep 3600"],
      HostConfig: { LogConfig: { Type: "json-file", Config: { "max-size": "64m" } } },
    });
    await printer.start();
    chatty = printer.id;
    assert.ok(
      await eventually(async () => (await printer.logs({ stdout: true, tail: 1 })).toString("latin1").includes("printed"), 60_000),
      "the printer printed its 20 MB",
    );
    // Every event of this container carries 64 KB of label, so a few dozen overflow any window.
    const heavy = await docker.createContainer({
      Image: testImage,
      name: run.name("heavy"),
      Labels: { ...labels, "osiris-test.ballast": "x".repeat(64 * 1024) },
      Cmd: ["sleep", "3600"],
    });
    await heavy.start();
    labelled = heavy.id;
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server?.stop();
  });

  it("releases every stream slot, watcher, engine connection, descriptor and megabyte of 1,000 abandoned streams", async () => {
    const pid = server.child.pid!;
    const logsBody = envelope(StreamDockerContainerLogsRequestSchema, { container: chatty, follow: true, stdout: true });
    const eventsBody = envelope(WatchDockerEventsRequestSchema, { labelSelector: run.labels });
    const descriptorsAtStart = openFiles(pid);
    /** For failure messages: how the streams that ended so far ended, by protocol and code. */
    const endedSoFar = () => {
      const counts = new Map<string, number>();
      for (const line of server.output().split("\n")) {
        const entry = line.startsWith("{") ? (JSON.parse(line) as { msg?: string; rpc?: string; protocol?: string; code?: string }) : {};
        if (entry.msg !== "rpc" || !entry.rpc?.includes("Stream") && !entry.rpc?.includes("Watch")) continue;
        const key = `${entry.rpc?.split("/")[1]} ${entry.protocol} ${entry.code}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return JSON.stringify(Object.fromEntries(counts));
    };
    let residentAfterWarmUp = 0;

    for (let round = 1; round <= rounds; round++) {
      const calls: AbandonedCall[] = [];
      for (let i = 0; i < perRound.logsHttp2; i++) calls.push(abandonOverHttp2(server.port, logsPath, logsBody, auth));
      for (let i = 0; i < perRound.logsHttp1; i++) calls.push(abandonOverHttp1(server.port, logsPath, "application/grpc-web+proto", logsBody, auth));
      for (let i = 0; i < perRound.eventsHttp2; i++) calls.push(abandonOverHttp2(server.port, eventsPath, eventsBody, auth));
      for (let i = 0; i < perRound.eventsHttp1; i++) calls.push(abandonOverHttp1(server.port, eventsPath, "application/connect+proto", eventsBody, auth));

      // All admitted: the principal's count is back to zero after every earlier round.
      const admitted = await eventually(async () => {
        const text = await metricsText(server.url);
        return metricSum(text, "osiris_active_streams") === roundSize && metricSum(text, "osiris_event_watchers") === roundSize - perRound.logsHttp1 - perRound.logsHttp2;
      }, 60_000);
      assert.ok(
        admitted,
        `round ${round}: all ${roundSize} streams admitted (${metricSum(await metricsText(server.url), "osiris_active_streams")} open; ended so far: ${endedSoFar()})`,
      );

      // Events the watchers do not read: 80 of 64 KB each.
      for (let i = 0; i < 40; i++) {
        // Each pair is two events; a refusal ("already paused") only costs an event.
        await docker.getContainer(labelled).pause().catch(() => undefined);
        await docker.getContainer(labelled).unpause().catch(() => undefined);
      }
      assert.ok(
        await eventually(async () => backedUpConnections(server.port) >= perRound.logsHttp1, 60_000),
        `round ${round}: the server's writes to the HTTP/1.1 followers are backed up`,
      );

      for (const call of calls) call.vanish();
      const released = await eventually(async () => {
        const text = await metricsText(server.url);
        return metricSum(text, "osiris_active_streams") === 0 && metricSum(text, "osiris_event_watchers") === 0;
      }, 60_000);
      const text = await metricsText(server.url);
      assert.ok(
        released,
        `round ${round}: every stream ended with its connection (still open: ${metricSum(text, "osiris_active_streams")} streams, ${metricSum(text, "osiris_event_watchers")} watchers)`,
      );
      // Node 24's V8 takes two rounds to grow its heap to the working size (519, 554, 557, 557... MB over
      // eight rounds here; Node 20 took one), and keeps it.
      if (round === 2) residentAfterWarmUp = residentMegabytes(pid);
    }

    // Engine connections and client sockets: all closed again (a keep-alive socket or two may linger a few seconds).
    assert.ok(await eventually(async () => openFiles(pid) <= descriptorsAtStart + 2, 30_000), `descriptors back to ${descriptorsAtStart}, now ${openFiles(pid)}`);
    // A leak of even one 64 KB message per abandoned stream would add 31 MB over the last 500.
    const resident = residentMegabytes(pid);
    assert.ok(resident <= residentAfterWarmUp + 20, `resident memory ${resident.toFixed(0)} MB, ${residentAfterWarmUp.toFixed(0)} MB after the second round`);

    // The principal opens a stream as if nothing had happened.
    const client = createClient(DockerService, createGrpcTransport({ baseUrl: server.url }));
    let received = 0;
    for await (const message of client.streamDockerContainerLogs({ container: chatty, stdout: true, tailLines: 1 }, { headers: auth })) {
      received += message.data.length;
    }
    assert.ok(received > 0, "a new stream is admitted and answered");

    const logLines = () => server.output().split("\n").filter((line) => line.startsWith("{"));
    const abandonedLines = () =>
      logLines()
        .map((line) => JSON.parse(line) as { msg?: string; rpc?: string; code?: string })
        .filter((entry) => entry.msg === "rpc" && entry.code !== "OK")
        .filter((entry) => entry.rpc?.endsWith("StreamDockerContainerLogs") || entry.rpc?.endsWith("WatchDockerEvents"));
    // The server writes its log asynchronously; the last lines may still be on their way.
    await eventually(async () => abandonedLines().length >= rounds * roundSize, 15_000);
    const abandoned = abandonedLines();
    const lines = logLines();
    assert.equal(abandoned.length, rounds * roundSize, "one request-log line per abandoned stream");
    assert.deepEqual(new Set(abandoned.map((entry) => entry.code)), new Set(["Canceled"]), "a client that leaves is Canceled");
    assert.deepEqual(lines.filter((line) => /"level":(50|60)/.test(line)), [], "nothing logged at error level");
  });
});

describe("an event watcher that stops reading", () => {
  const heavyRun = newTestRun();
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await removeTestContainers(heavyRun.id);
    await server.close();
  });

  it("is dropped with RESOURCE_EXHAUSTED once its backlog passes 8 MiB, though it is only 40 events", async () => {
    const heavy = await docker.createContainer({
      Image: testImage,
      name: heavyRun.name("heavy"),
      // Half a MiB: each event stays under the 1 MiB the hub reads of one engine event line.
      Labels: { ...heavyRun.labels, [managedLabel]: "true", "osiris-test.ballast": "x".repeat(512 * 1024) },
      Cmd: ["sleep", "3600"],
    });
    await heavy.start();
    const session = http2.connect(server.baseUrl);
    session.on("error", () => undefined);
    try {
      const stream = session.request({ ":method": "POST", ":path": eventsPath, "content-type": "application/grpc", te: "trailers" });
      stream.on("error", () => undefined);
      const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once("trailers", resolve));
      stream.pause();
      stream.end(envelope(WatchDockerEventsRequestSchema, { labelSelector: heavyRun.labels }));
      assert.ok(await eventually(async () => metricSum(await metricsText(server.baseUrl), "osiris_event_watchers") === 1), "watching");
      for (let i = 0; i < 20; i++) {
        await heavy.pause().catch(() => undefined);
        await heavy.unpause().catch(() => undefined);
      }
      // Dropped while its client is still connected, not reading: its backlog is let go at once.
      assert.ok(
        await eventually(async () => metricSum(await metricsText(server.baseUrl), "osiris_event_watchers") === 0, 30_000),
        "the watcher was dropped",
      );
      stream.resume();
      const { "grpc-status": status, "grpc-message": message } = await trailers;
      assert.equal(status, "8", "RESOURCE_EXHAUSTED");
      assert.match(decodeURIComponent(String(message)), /MiB of events behind/);
    } finally {
      session.destroy();
    }
  });
});

describe("a client that leaves a call over HTTP/1.1", () => {
  const quietRun = newTestRun();
  const logLines: string[] = [];
  let server: TestServer;
  let quiet = "";
  before(async () => {
    server = await startTestServer(undefined, { logLevel: "info" }, { write: (line) => void logLines.push(line) });
    const { container } = await server.client("grpc").runDockerContainer({ image: testImage, command: ["sleep", "3600"], labels: quietRun.labels });
    quiet = container!.id;
  });
  after(async () => {
    await removeTestContainers(quietRun.id);
    await server.close();
  });

  const leave = async (path: string, body: Buffer, contentType: string) => {
    const socket = net.connect(server.port, "127.0.0.1");
    socket.on("error", () => undefined);
    socket.write(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: ${contentType}\r\ncontent-length: ${body.length}\r\n\r\n`);
    socket.write(body);
    // Long enough for the call to reach its handler; the check below does not depend on it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.end();
    socket.destroy();
  };
  const loggedCode = (rpc: string) =>
    logLines.map((line) => JSON.parse(line) as { msg?: string; rpc?: string; code?: string }).find((entry) => entry.msg === "rpc" && entry.rpc?.endsWith(rpc))?.code;

  it("logs a log follow the client left as Canceled, without an error or a stack", async () => {
    await leave(logsPath, envelope(StreamDockerContainerLogsRequestSchema, { container: quiet, follow: true, stdout: true }), "application/grpc-web+proto");
    assert.ok(await eventually(async () => loggedCode("StreamDockerContainerLogs") !== undefined, 15_000), "the stream was logged");
    assert.equal(loggedCode("StreamDockerContainerLogs"), "Canceled");
    assert.deepEqual(logLines.filter((line) => /"level":50/.test(line)), []);
  });

  it("logs a call whose client reset the connection before sending its body as Canceled, without an error", async () => {
    const socket = net.connect(server.port, "127.0.0.1");
    socket.on("error", () => undefined);
    socket.write(`POST /grpc.health.v1.Health/Watch HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-type: application/grpc-web+json\r\ncontent-length: 100\r\n\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.resetAndDestroy();
    assert.ok(await eventually(async () => loggedCode("Watch") !== undefined, 15_000), "the call was logged");
    assert.equal(loggedCode("Watch"), "Canceled");
    assert.deepEqual(logLines.filter((line) => /"level":50/.test(line)), []);
  });

  it("logs a Wait the client left as Canceled, without an error or a stack", async () => {
    await leave("/osiris.docker.v1.DockerService/WaitDockerContainer", envelope(WaitDockerContainerRequestSchema, { container: quiet }), "application/grpc-web+proto");
    assert.ok(await eventually(async () => loggedCode("WaitDockerContainer") !== undefined, 15_000), "the call was logged");
    assert.equal(loggedCode("WaitDockerContainer"), "Canceled");
    assert.deepEqual(logLines.filter((line) => /"level":50/.test(line)), []);
  });
});

describe("a stream whose deadline passes before its handler is asked for a first message (fuzzer case #8133)", () => {
  const operatorToken = `operator-${randomUUID()}`;
  const maxStreams = 2;
  const auth = { authorization: `Bearer ${operatorToken}` };
  const body = envelope(StreamDockerContainerLogsRequestSchema, { container: "osiris-test-absent" });
  /** The body follows the headers this much later, so a 1 ms deadline passes while the request is read. */
  const bodyDelayMs = 50;
  let server: TestServer;
  before(async () => {
    server = await startTestServer(undefined, {
      tokens: parseTokenList(JSON.stringify([{ principal: "ops", role: "operator", token: operatorToken }])),
      maxStreamsPerPrincipal: maxStreams,
    });
  });
  after(async () => server?.close());

  /** Connect streaming over HTTP/1.1 with `connect-timeout-ms: 1`; resolves with the end-stream error code. */
  const connectOverHttp1 = () =>
    new Promise<string>((resolve, reject) => {
      const socket = net.connect(server.port, "127.0.0.1");
      let answer = "";
      const timer = setTimeout(() => socket.destroy(new Error("no answer within 30 s")), 30_000);
      socket.on("data", (chunk: Buffer) => (answer += chunk.toString("latin1")));
      socket.on("error", reject);
      socket.on("close", () => {
        clearTimeout(timer);
        resolve(/"code":"(\w+)"/.exec(answer)?.[1] ?? `no code in ${JSON.stringify(answer.slice(0, 300))}`);
      });
      const headers = { "content-type": "application/connect+proto", "connect-protocol-version": "1", "connect-timeout-ms": "1", connection: "close", ...auth };
      const lines = Object.entries({ ...headers, "content-length": String(body.length) }).map(([name, value]) => `${name}: ${value}\r\n`);
      socket.write(`POST ${logsPath} HTTP/1.1\r\nhost: 127.0.0.1:${server.port}\r\n${lines.join("")}\r\n`);
      setTimeout(() => socket.write(body), bodyDelayMs);
    });

  /** gRPC over HTTP/2 with `grpc-timeout: 1m`; resolves with grpc-status. */
  const grpcOverHttp2 = () =>
    new Promise<string>((resolve, reject) => {
      const session = http2.connect(server.baseUrl);
      session.on("error", reject);
      const timer = setTimeout(() => session.destroy(new Error("no answer within 30 s")), 30_000);
      const stream = session.request({ ":method": "POST", ":path": logsPath, "content-type": "application/grpc", te: "trailers", "grpc-timeout": "1m", ...auth });
      let status: string | undefined;
      stream.on("response", (headers) => (status ??= headers["grpc-status"]?.toString()));
      stream.on("trailers", (trailers) => (status ??= trailers["grpc-status"]?.toString()));
      stream.on("error", () => undefined);
      stream.resume();
      stream.on("close", () => {
        clearTimeout(timer);
        session.close();
        resolve(status ?? "no grpc-status");
      });
      setTimeout(() => stream.end(body), bodyDelayMs);
    });

  it("answers DEADLINE_EXCEEDED, ends the call in the metrics, and gives the principal its stream slot back", async () => {
    const calls = maxStreams + 1;
    for (let i = 0; i < calls; i++) assert.equal(await connectOverHttp1(), "deadline_exceeded", `Connect over HTTP/1.1, call ${i + 1}`);
    for (let i = 0; i < calls; i++) assert.equal(await grpcOverHttp2(), "4", `gRPC over HTTP/2, call ${i + 1}: DEADLINE_EXCEEDED`);

    const open = async () => {
      const text = await metricsText(server.baseUrl);
      return { inFlight: metricSum(text, "osiris_rpc_in_flight"), streams: metricSum(text, "osiris_active_streams") };
    };
    assert.ok(await eventually(async () => (await open()).inFlight === 0, 10_000), `no call left in flight: ${JSON.stringify(await open())}`);
    assert.equal((await open()).streams, 0, "no stream left open");

    // The principal opens as many streams as it may, at once.
    const health = createClient(Health, createGrpcTransport({ baseUrl: server.baseUrl }));
    const controllers = Array.from({ length: maxStreams }, () => new AbortController());
    try {
      const firsts = controllers.map((controller) => health.watch({ service: "" }, { signal: controller.signal, headers: auth })[Symbol.asyncIterator]().next());
      const opened = await Promise.allSettled(firsts);
      assert.deepEqual(
        opened.map((result) => (result.status === "fulfilled" ? "open" : String(result.reason))),
        controllers.map(() => "open"),
        `all ${maxStreams} streams admitted`,
      );
    } finally {
      for (const controller of controllers) controller.abort();
    }
  });
});
