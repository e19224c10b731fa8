import assert from "node:assert/strict";
import { once } from "node:events";
import { readdirSync, rmSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import net from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import tls from "node:tls";
import zlib from "node:zlib";
import { connectRaw, http1Request, parseHttp1Responses, rpcAnswer, type Http1Response } from "../support/raw-wire.js";
import { makeTestCertificates, type TestCertificates } from "../support/test-certificates.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";

// Raw bytes against a real server process: a crash in a connection callback
// ends the process, and only a process shows it.

const readMaxBytes = 4 * 1024 * 1024;
const operatorToken = "front-door-operator-token-0123456789";

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP/1.1 POST with exactly these headers and body bytes, on its own connection, bounded in time. */
function http1Post(port: number, path: string, headers: Record<string, string>, body: Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: "127.0.0.1", port, path, method: "POST", headers, agent: false, timeout: 60_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error(`no answer to ${path} within 60 s`)));
    // The server may answer and stop reading before the body is all sent.
    request.on("error", (error: NodeJS.ErrnoException) => (error.code === "EPIPE" || error.code === "ECONNRESET" ? undefined : reject(error)));
    request.end(body);
  });
}

/** Envelopes of the gRPC-Web and Connect streaming bodies: flags, 4-byte length, message. */
function envelopes(body: Buffer): { flags: number; data: Buffer }[] {
  const found: { flags: number; data: Buffer }[] = [];
  for (let offset = 0; offset + 5 <= body.length; ) {
    const length = body.readUInt32BE(offset + 1);
    found.push({ flags: body[offset]!, data: body.subarray(offset + 5, offset + 5 + length) });
    offset += 5 + length;
  }
  return found;
}

/** The grpc-status of a gRPC-Web answer: in the headers (trailers-only), else in the trailer envelope. */
function grpcWebStatus(answer: RawAnswer): number | undefined {
  if (answer.headers["grpc-status"] !== undefined) return Number(answer.headers["grpc-status"]);
  const trailer = envelopes(answer.body).find((envelope) => (envelope.flags & 0x80) !== 0);
  const match = /grpc-status:\s*(\d+)/i.exec(trailer?.data.toString("latin1") ?? "");
  return match ? Number(match[1]) : undefined;
}

/** The error code in a Connect streaming answer's end-stream message. */
function connectEndStreamCode(answer: RawAnswer): string | undefined {
  const end = envelopes(answer.body).find((envelope) => (envelope.flags & 0x02) !== 0);
  return end ? (JSON.parse(end.data.toString("utf8")) as { error?: { code?: string } }).error?.code : undefined;
}

function envelope(flags: number, message: Buffer, announcedLength = message.length): Buffer {
  const header = Buffer.alloc(5);
  header[0] = flags;
  header.writeUInt32BE(announcedLength, 1);
  return Buffer.concat([header, message]);
}

/** Gzip of `mebibytes` MiB of zeros, made in 1 MiB steps so the test never holds the whole. */
async function gzipBomb(mebibytes: number): Promise<Buffer> {
  const gzip = zlib.createGzip({ level: 9 });
  const chunks: Buffer[] = [];
  gzip.on("data", (chunk: Buffer) => chunks.push(chunk));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < mebibytes; i++) if (!gzip.write(zeros)) await once(gzip, "drain");
  gzip.end();
  await once(gzip, "end");
  return Buffer.concat(chunks);
}

const grpcStatusCode = { ok: 0, invalidArgument: 3, resourceExhausted: 8 } as const;

/** The process is alive, answers /healthz, and logged no crash. */
async function assertStillServing(server: ServerProcess, after: string): Promise<void> {
  // A crash in an answer's "finish" callback comes a moment after the answer itself.
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(server.child.exitCode, null, `the process exited after ${after}:\n${server.output().slice(-3000)}`);
  const health = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(30_000) });
  assert.equal(health.status, 200, `/healthz after ${after}`);
  assert.doesNotMatch(server.output(), /TypeError|uncaught|unhandled/i, `nothing uncaught after ${after}`);
}

describe("gRPC-Web and Connect streaming over HTTP/1.1: refused bodies never end the process", () => {
  let server: ServerProcess;
  let bomb: Buffer;
  before(async () => {
    bomb = await gzipBomb(530);
    // Tokens on. Callers of open services (Health) send none; the DockerService
    // calls carry the operator's token, since a call without one is refused
    // before its body is read (front-door-bodies.test.ts), and these are about bodies.
    server = await startServerProcess({
      OSIRIS_TOKENS: JSON.stringify([{ principal: "ops", role: "operator", token: operatorToken }]),
      OSIRIS_READ_MAX_BYTES: String(readMaxBytes),
    });
  });
  after(async () => server.stop());

  it("answers INVALID_ARGUMENT to a 7-byte gRPC-Web RunDockerContainer (an envelope announcing 1 byte, then 2 more), and keeps serving", async () => {
    const answer = await http1Post(
      server.port,
      "/osiris.docker.v1.DockerService/RunDockerContainer",
      { "content-type": "application/grpc-web+proto", authorization: `Bearer ${operatorToken}` },
      Buffer.from("\x00\x00\x00\x00\x01[]", "latin1"),
    );
    assert.equal(answer.status, 200);
    assert.equal(grpcWebStatus(answer), grpcStatusCode.invalidArgument);
    await assertStillServing(server, "the 7-byte gRPC-Web request");
  });

  it("answers RESOURCE_EXHAUSTED to gRPC-Web JSON sent without framing (its first bytes read as a 576 MB length)", async () => {
    const answer = await http1Post(
      server.port,
      "/osiris.docker.v1.DockerService/GetDockerContainer",
      { "content-type": "application/grpc-web+json", authorization: `Bearer ${operatorToken}` },
      Buffer.from('{"container":"x"}'),
    );
    assert.equal(grpcWebStatus(answer), grpcStatusCode.resourceExhausted);
    await assertStillServing(server, "unframed gRPC-Web JSON");
  });

  it("answers RESOURCE_EXHAUSTED to a 5 MiB gRPC-Web grpc.health.v1.Health/Check", async () => {
    const answer = await http1Post(
      server.port,
      "/grpc.health.v1.Health/Check",
      { "content-type": "application/grpc-web+proto" },
      envelope(0, Buffer.alloc(5 * 1024 * 1024)),
    );
    assert.equal(grpcWebStatus(answer), grpcStatusCode.resourceExhausted);
    await assertStillServing(server, "a 5 MiB gRPC-Web health check");
  });

  it(`answers RESOURCE_EXHAUSTED to a gzip bomb (530 MiB of zeros) on gRPC-Web`, async () => {
    const answer = await http1Post(
      server.port,
      "/grpc.health.v1.Health/Check",
      { "content-type": "application/grpc-web+proto", "grpc-encoding": "gzip" },
      envelope(1, bomb),
    );
    assert.equal(grpcWebStatus(answer), grpcStatusCode.resourceExhausted);
    await assertStillServing(server, "a gzip bomb on gRPC-Web");
  });

  // Streaming calls pass the interceptors before their body is read: with a token, the body is read and refused.
  const bearer = { authorization: `Bearer ${operatorToken}` };

  it("answers resource_exhausted to a gzip bomb on Connect streaming", async () => {
    const answer = await http1Post(
      server.port,
      "/osiris.docker.v1.DockerService/StreamDockerContainerLogs",
      { "content-type": "application/connect+proto", "connect-content-encoding": "gzip", ...bearer },
      envelope(1, bomb),
    );
    assert.equal(connectEndStreamCode(answer), "resource_exhausted");
    await assertStillServing(server, "a gzip bomb on Connect streaming");
  });

  it("answers resource_exhausted to a Connect streaming envelope announcing 2 GiB", async () => {
    const answer = await http1Post(
      server.port,
      "/osiris.docker.v1.DockerService/WatchDockerEvents",
      { "content-type": "application/connect+json", ...bearer },
      envelope(0, Buffer.from("{}"), 0x7fff_ffff),
    );
    assert.equal(connectEndStreamCode(answer), "resource_exhausted");
    await assertStillServing(server, "an overlong Connect streaming envelope");
  });

  it("answers unauthenticated to the same envelope without a token, leaving its body unread", async () => {
    const answer = await http1Post(
      server.port,
      "/osiris.docker.v1.DockerService/WatchDockerEvents",
      { "content-type": "application/connect+json" },
      envelope(0, Buffer.from("{}"), 0x7fff_ffff),
    );
    assert.equal(connectEndStreamCode(answer), "unauthenticated");
    await assertStillServing(server, "an unauthenticated Connect stream with an unread body");
  });
});

const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

const frameType = { data: 0x0, headers: 0x1, settings: 0x4, ping: 0x6, goaway: 0x7 } as const;
const emptySettings = frame(frameType.settings, 0, 0);

/** HPACK "literal header field without indexing, new name", for names and values under 127 bytes. */
function hpackLiteral(headers: [string, string][]): Buffer {
  return Buffer.concat(
    headers.flatMap(([name, value]) => [Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]),
  );
}

interface IdleClient {
  socket: net.Socket;
  closed: boolean;
}

/** A connection that sends the HTTP/2 preface and an empty SETTINGS frame, then nothing. */
function idleHttp2Connection(port: number): Promise<IdleClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const client: IdleClient = { socket, closed: false };
    socket.once("connect", () => {
      socket.write(Buffer.concat([http2Preface, emptySettings]));
      resolve(client);
    });
    socket.once("error", reject);
    socket.on("error", () => undefined);
    // Read what the server sends (SETTINGS, GOAWAY) so its FIN is seen.
    socket.resume();
    socket.once("close", () => (client.closed = true));
  });
}

async function eventually(condition: () => boolean, boundMs: number, what: string): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`not within ${boundMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** grpc.health.v1.Health/Check over h2c; resolves with grpc-status. */
async function grpcHealthCheck(url: string, options: http2.SecureClientSessionOptions = {}): Promise<number> {
  const session = http2.connect(url, options);
  session.on("error", () => undefined);
  try {
    const stream = session.request({ ":method": "POST", ":path": "/grpc.health.v1.Health/Check", "content-type": "application/grpc", te: "trailers" });
    stream.end(envelope(0, Buffer.alloc(0)));
    stream.resume();
    const [trailers] = (await Promise.race([
      once(stream, "trailers"),
      new Promise((_, reject) => setTimeout(() => reject(new Error("no health answer within 30 s")), 30_000).unref()),
    ])) as [http2.IncomingHttpHeaders];
    return Number(trailers["grpc-status"]);
  } finally {
    session.destroy();
  }
}

/** A grpc.health.v1.Health/Watch stream: it stays open until cancelled. */
function healthWatch(session: http2.ClientHttp2Session): http2.ClientHttp2Stream {
  const stream = session.request({ ":method": "POST", ":path": "/grpc.health.v1.Health/Watch", "content-type": "application/grpc", te: "trailers" });
  stream.end(envelope(0, Buffer.alloc(0)));
  stream.resume();
  stream.on("error", () => undefined);
  return stream;
}

describe("idle connections and the connection cap (cleartext)", () => {
  const idleTimeoutMs = 1000;
  const maxConnections = 50;
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess({ OSIRIS_IDLE_TIMEOUT_MS: String(idleTimeoutMs), OSIRIS_MAX_CONNECTIONS: String(maxConnections) });
  });
  after(async () => server.stop());

  it("keeps /healthz and gRPC health answering through 200 preface-only connections against a cap of 50, and closes them all once idle", async () => {
    const baseline = openDescriptors(server.child.pid!);
    const clients: IdleClient[] = [];
    try {
      // Fifty at a time: bounded in count and concurrency.
      for (let i = 0; i < 200; i += 50) {
        clients.push(...(await Promise.all(Array.from({ length: 50 }, () => idleHttp2Connection(server.port)))));
      }
      await eventually(() => clients.filter((c) => c.closed).length >= 150, 30_000, "the cap closes the longest-idle connections");
      assert.ok(
        openDescriptors(server.child.pid!) <= baseline + maxConnections + 10,
        `descriptors stay within the cap: ${openDescriptors(server.child.pid!)} with a baseline of ${baseline}`,
      );
      const health = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(30_000) });
      assert.equal(health.status, 200);
      assert.equal(await grpcHealthCheck(server.url), grpcStatusCode.ok);
      await eventually(() => clients.every((c) => c.closed), 30_000, `every idle connection is closed after ${idleTimeoutMs} ms idle`);
    } finally {
      for (const client of clients) client.socket.destroy();
    }
    assert.equal(server.child.exitCode, null);
  });

  it("keeps a session with a stream open past the idle timeout (answering PINGs), and sends GOAWAY to an idle one beside it", async () => {
    const busy = http2.connect(server.url);
    const idle = http2.connect(server.url);
    for (const session of [busy, idle]) session.on("error", () => undefined);
    try {
      const watch = healthWatch(busy);
      await once(watch, "response");
      let idleGotGoaway = false;
      idle.once("goaway", () => (idleGotGoaway = true));
      await eventually(() => idleGotGoaway && idle.closed, 30_000, "the idle session gets GOAWAY");
      // Three idle timeouts more: a busy session is pinged, not closed.
      await new Promise((resolve) => setTimeout(resolve, 3 * idleTimeoutMs));
      assert.equal(busy.closed, false, "the session with a stream in flight stays open");
      assert.equal(watch.closed, false, "and so does its stream");
      watch.close(http2.constants.NGHTTP2_CANCEL);
      await eventually(() => busy.closed, 30_000, "once its stream ends, it is idle and closed too");
    } finally {
      busy.destroy();
      idle.destroy();
    }
  });

  it("closes a connection whose peer stops answering PINGs while a stream is open (a dead peer)", async () => {
    const socket = net.connect({ host: "127.0.0.1", port: server.port });
    socket.on("error", () => undefined);
    let received = Buffer.alloc(0);
    let pings = 0;
    let closed = false;
    socket.once("close", () => (closed = true));
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 9) {
        const length = received.readUIntBE(0, 3);
        if (received.length < 9 + length) break;
        const [type, flags] = [received[3], received[4]!];
        // Acknowledge SETTINGS like a live peer, but never a PING.
        if (type === frameType.settings && (flags & 0x1) === 0) socket.write(frame(frameType.settings, 0x1, 0));
        if (type === frameType.ping && (flags & 0x1) === 0) pings += 1;
        received = received.subarray(9 + length);
      }
    });
    await once(socket, "connect");
    const headers = hpackLiteral([
      [":method", "POST"],
      [":scheme", "http"],
      [":path", "/grpc.health.v1.Health/Watch"],
      [":authority", `127.0.0.1:${server.port}`],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
    ]);
    socket.write(
      Buffer.concat([
        http2Preface,
        emptySettings,
        frame(frameType.headers, 0x4, 1, headers),
        frame(frameType.data, 0x1, 1, envelope(0, Buffer.alloc(0))),
      ]),
    );
    try {
      await eventually(() => closed, 30_000, "the server gives up on a peer that does not answer its PING");
      assert.ok(pings >= 1, "the server pinged before closing");
    } finally {
      socket.destroy();
    }
    assert.equal(server.child.exitCode, null);
  });
});

describe("idle connections and the connection cap (TLS)", () => {
  const idleTimeoutMs = 1000;
  let certificates: TestCertificates;
  let server: ServerProcess;
  before(async () => {
    certificates = makeTestCertificates("front-door");
    server = await startServerProcess({
      OSIRIS_TLS_CERT: join(certificates.dir, "server.pem"),
      OSIRIS_TLS_KEY: join(certificates.dir, "server.key"),
      OSIRIS_IDLE_TIMEOUT_MS: String(idleTimeoutMs),
      OSIRIS_MAX_CONNECTIONS: "30",
    });
  });
  after(async () => {
    await server.stop();
    rmSync(certificates.dir, { recursive: true, force: true });
  });

  it("counts connections still in their TLS handshake against the cap, and closes them when idle", async () => {
    const silent: IdleClient[] = [];
    try {
      for (let i = 0; i < 100; i += 50) {
        silent.push(
          ...(await Promise.all(
            Array.from(
              { length: 50 },
              () =>
                new Promise<IdleClient>((resolve, reject) => {
                  const socket = net.connect({ host: "127.0.0.1", port: server.port }, () => resolve(client));
                  const client: IdleClient = { socket, closed: false };
                  socket.once("error", reject);
                  socket.on("error", () => undefined);
                  socket.once("close", () => (client.closed = true));
                }),
            ),
          )),
        );
      }
      await eventually(() => silent.filter((c) => c.closed).length >= 70, 30_000, "the cap closes the longest-idle handshakes");
      const status = await new Promise<number>((resolve, reject) => {
        https
          .get(`https://127.0.0.1:${server.port}/healthz`, { ca: certificates.caPem, agent: false, timeout: 30_000 }, (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          })
          .on("error", reject);
      });
      assert.equal(status, 200);
      assert.equal(await grpcHealthCheck(`https://127.0.0.1:${server.port}`, { ca: certificates.caPem }), grpcStatusCode.ok);
      await eventually(() => silent.every((c) => c.closed), 30_000, "every silent connection is closed once idle");
    } finally {
      for (const client of silent) client.socket.destroy();
    }
  });

  it("keeps a TLS HTTP/2 session with a stream open past the idle timeout, and closes an idle one", async () => {
    const options = { ca: certificates.caPem };
    const busy = http2.connect(`https://127.0.0.1:${server.port}`, options);
    const idle = http2.connect(`https://127.0.0.1:${server.port}`, options);
    for (const session of [busy, idle]) session.on("error", () => undefined);
    try {
      const watch = healthWatch(busy);
      await once(watch, "response");
      await eventually(() => idle.closed, 30_000, "the idle TLS session is closed");
      await new Promise((resolve) => setTimeout(resolve, 3 * idleTimeoutMs));
      assert.equal(busy.closed, false, "the TLS session with a stream in flight stays open");
      assert.equal(watch.closed, false);
    } finally {
      busy.destroy();
      idle.destroy();
    }
  });
});

interface KeepAliveOutcome {
  /** Answers in order, the follow-up's included. */
  answers: Http1Response[];
  /** The server closed (or reset) the connection. */
  closed: boolean;
  /** The server took all of `first` (the kernel accepted every byte). */
  firstWritten: boolean;
}

/**
 * On one raw HTTP/1.1 connection: writes `first`, and once its answer is in,
 * writes `followUp` (unless `first` already holds it, pipelined). Resolves once
 * `expected` answers are in, the server closes, or `boundMs` passes: a
 * keep-alive connection must never be left hanging.
 */
function keepAliveExchange(socket: net.Socket, first: Buffer, followUp: Buffer | undefined, expected: number, boundMs: number): Promise<KeepAliveOutcome> {
  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    let settled = false;
    let firstWritten = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ answers: parseHttp1Responses(received, closed).responses, closed, firstWritten });
    };
    const timer = setTimeout(() => finish(false), boundMs);
    socket.on("error", () => finish(true));
    socket.on("close", () => finish(true));
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const { responses } = parseHttp1Responses(received, false);
      if (responses.length >= expected) return finish(false);
      if (responses.length === 1 && followUp && !socket.destroyed) {
        socket.write(followUp);
        followUp = undefined;
      }
    });
    socket.once(socket instanceof tls.TLSSocket ? "secureConnect" : "connect", () => socket.write(first, (error) => (firstWritten = !error)));
  });
}

describe("HTTP/1.1 keep-alive after an answer that left the request body unread (fuzzer case R4)", () => {
  // As in the fuzzer: a small limit, so that a body of a few MiB is refused after its first bytes.
  const smallReadMax = 64 * 1024;
  /** Generous: proves "no hang", not speed (the server gave up on the stuck connection after about 6 s). */
  const noHangMs = 5_000;
  let certificates: TestCertificates;
  let plain: ServerProcess;
  let secure: ServerProcess;
  before(async () => {
    certificates = makeTestCertificates("keep-alive");
    [plain, secure] = await Promise.all([
      startServerProcess({ OSIRIS_READ_MAX_BYTES: String(smallReadMax) }),
      startServerProcess({
        OSIRIS_READ_MAX_BYTES: String(smallReadMax),
        OSIRIS_TLS_CERT: join(certificates.dir, "server.pem"),
        OSIRIS_TLS_KEY: join(certificates.dir, "server.key"),
      }),
    ]);
  });
  after(async () => {
    await Promise.all([plain?.stop(), secure?.stop()]);
    rmSync(certificates.dir, { recursive: true, force: true });
  });

  const post = (port: number, path: string, contentType: string, body: Buffer) =>
    http1Request("POST", path, [["host", `127.0.0.1:${port}`], ["content-type", contentType], ["content-length", String(body.length)]], body);
  const healthz = (port: number) => http1Request("GET", "/healthz", [["host", `127.0.0.1:${port}`]]);
  const fiveMiBCheck = envelope(0, Buffer.alloc(5 * 1024 * 1024, 0x61));

  /** The next request was answered 200, or the connection was closed at once after an answer that said `Connection: close`. */
  function assertConnectionUsableOrClosed(outcome: KeepAliveOutcome, what: string): void {
    const [first, second] = outcome.answers;
    assert.ok(first, `${what}: the first request is answered`);
    const saidClose = first.headers.connection?.some((value) => /close/i.test(value)) ?? false;
    if (second) {
      assert.equal(second.status, 200, `${what}: GET /healthz on the same connection`);
    } else {
      assert.ok(outcome.closed && saidClose, `${what}: GET /healthz on the same connection was neither answered nor refused within ${noHangMs} ms`);
    }
  }

  for (const transport of ["cleartext", "TLS"] as const) {
    it(`answers GET /healthz on the same connection after RESOURCE_EXHAUSTED to a 5 MiB gRPC-Web Health/Check (${transport})`, async () => {
      const server = transport === "TLS" ? secure : plain;
      const socket = connectRaw(server.port, transport === "TLS" ? { ca: certificates.caPem, alpn: ["http/1.1"] } : undefined);
      const outcome = await keepAliveExchange(
        socket,
        post(server.port, "/grpc.health.v1.Health/Check", "application/grpc-web+proto", fiveMiBCheck),
        healthz(server.port),
        2,
        noHangMs,
      );
      const first = outcome.answers[0];
      assert.equal(first && rpcAnswer(first.status, first.headers, first.trailers, first.body).code, "resource_exhausted");
      assertConnectionUsableOrClosed(outcome, `5 MiB gRPC-Web over ${transport}`);
      assert.equal(server.child.exitCode, null);
    });
  }

  it("answers GET /healthz on the same connection after RESOURCE_EXHAUSTED to a 320 KiB gRPC Health/Watch over HTTP/1.1", async () => {
    const outcome = await keepAliveExchange(
      connectRaw(plain.port),
      post(plain.port, "/grpc.health.v1.Health/Watch", "application/grpc", envelope(0, Buffer.alloc(320 * 1024, 0x61))),
      healthz(plain.port),
      2,
      noHangMs,
    );
    assertConnectionUsableOrClosed(outcome, "320 KiB gRPC over HTTP/1.1");
  });

  it("answers GET /healthz on the same connection after a 404 to an unknown route with a 5 MiB body", async () => {
    const outcome = await keepAliveExchange(connectRaw(plain.port), post(plain.port, "/no/such/route", "application/octet-stream", fiveMiBCheck), healthz(plain.port), 2, noHangMs);
    assert.equal(outcome.answers[0]?.status, 404);
    assertConnectionUsableOrClosed(outcome, "an unknown route with a 5 MiB body");
  });

  it("answers a request pipelined behind the refused 5 MiB body, in order", async () => {
    const pipelined = Buffer.concat([post(plain.port, "/grpc.health.v1.Health/Check", "application/grpc-web+proto", fiveMiBCheck), healthz(plain.port)]);
    const outcome = await keepAliveExchange(connectRaw(plain.port), pipelined, undefined, 2, noHangMs);
    assert.equal(outcome.answers.length, 2, `both pipelined requests are answered (closed: ${outcome.closed})`);
    assert.equal(outcome.answers[1]?.status, 200);
  });

  for (const [what, path, contentType] of [
    ["a gRPC-Web refusal", "/grpc.health.v1.Health/Check", "application/grpc-web+proto"],
    ["an unknown route", "/no/such/route", "application/octet-stream"],
  ] as const) {
    it(`reads at most 16 MiB of a body left unread by ${what}: past that, closes the connection instead of reading on, and keeps serving`, async () => {
      const outcome = await keepAliveExchange(connectRaw(plain.port), post(plain.port, path, contentType, envelope(0, Buffer.alloc(48 * 1024 * 1024, 0x61))), undefined, 2, 15_000);
      assert.equal(outcome.answers.length, 1, "the request is answered");
      assert.ok(outcome.closed, "and the connection is closed");
      assert.equal(outcome.firstWritten, false, "before the server read all 48 MiB");
      await assertStillServing(plain, `48 MiB left unread by ${what}`);
    });
  }
});

describe("HTTP/1.1 pipelining: one exchange at a time per connection (fuzzer cases #4737, #7614)", () => {
  /** Generous: proves "no hang" (before the fix, /healthz waited over 8 s behind the pipelined scrapes below). */
  const noHangMs = 5_000;
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess({ OSIRIS_LOG_LEVEL: "info" });
  });
  after(async () => server?.stop());

  const host = () => ["host", `127.0.0.1:${server.port}`] as [string, string];
  const healthz = () => http1Request("GET", "/healthz", [host()]);
  const connectPost = (path: string, headers: [string, string][], body: Buffer) =>
    http1Request("POST", path, [host(), ...headers, ["content-length", String(body.length)]], body);
  const loggedRpcs = () =>
    server
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { msg?: string; rpc?: string; code?: string })
      .filter((entry) => entry.msg === "rpc");

  it("does not start a pipelined request before the exchange ahead of it has ended, and answers in order", async () => {
    const before = loggedRpcs().length;
    // A Watch that lasts one second, then three Checks pipelined behind it.
    const watch = connectPost("/grpc.health.v1.Health/Watch", [["content-type", "application/connect+json"], ["connect-timeout-ms", "1000"]], envelope(0, Buffer.from("{}")));
    const check = () => connectPost("/grpc.health.v1.Health/Check", [["content-type", "application/json"]], Buffer.from("{}"));
    const outcome = await keepAliveExchange(connectRaw(server.port), Buffer.concat([watch, check(), check(), check()]), undefined, 4, 30_000);
    assert.equal(outcome.answers.length, 4, `all four answered (closed: ${outcome.closed})`);
    assert.equal(outcome.answers[0]!.headers["content-type"]?.[0], "application/connect+json", "the Watch's answer first");
    for (const answer of outcome.answers.slice(1)) assert.match(answer.body.toString("utf8"), /SERVING/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const order = loggedRpcs()
      .slice(before)
      .map((entry) => entry.rpc?.split("/")[1]);
    assert.deepEqual(order, ["Watch", "Check", "Check", "Check"], "each Check started after the Watch ended");
  });

  it("answers the next request on a keep-alive connection after a 415 (#4737) and after Health/List with an 8000-character header (#7614), while other clients pipeline 1,500 GET /metrics each and do not read", async () => {
    const floods = Array.from({ length: 5 }, () => net.connect(server.port, "127.0.0.1"));
    try {
      for (const flood of floods) {
        flood.on("error", () => undefined);
        flood.pause();
        await once(flood, "connect");
      }
      for (const flood of floods) flood.write(Buffer.concat(Array.from({ length: 1500 }, () => http1Request("GET", "/metrics", [host()]))));
      const cases: [string, Buffer, number][] = [
        [
          "#4737: StartDockerContainer without a content-type",
          connectPost("/osiris.docker.v1.DockerService/StartDockerContainer", [["connection", "keep-alive"]], Buffer.from('{"nam":"web","container":"osiris-fuzz-absent"}')),
          415,
        ],
        [
          "#7614: Health/List with an 8000-character header and an empty body",
          connectPost("/grpc.health.v1.Health/List", [["content-type", "application/proto"], ["connect-protocol-version", "1"], ["x-fuzz", "h".repeat(8000)]], Buffer.alloc(0)),
          200,
        ],
      ];
      for (const [what, first, status] of cases) {
        const outcome = await keepAliveExchange(connectRaw(server.port), first, healthz(), 2, noHangMs);
        assert.equal(outcome.answers[0]?.status, status, `${what}: answered`);
        assert.equal(outcome.answers[1]?.status, 200, `${what}: then GET /healthz on the same connection, within ${noHangMs} ms (closed: ${outcome.closed})`);
      }
    } finally {
      for (const flood of floods) flood.destroy();
    }
    await assertStillServing(server, "pipelined scrapes from clients that do not read");
  });
});
