/**
 * A client that speaks bytes, for tests that must send what well-behaved
 * transports never would: lying envelopes, duplicated headers, pipelined
 * requests, resets at a chosen moment. Nothing here validates or repairs what
 * it is given; it reports what came back and how the connection ended.
 */
import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";

/** Flags of the 5-byte envelope header that gRPC, gRPC-Web and Connect streaming put before each message. */
export const envelopeFlags = {
  compressed: 0x01,
  /** Connect streaming: the server's last message (a client must not send it). */
  endStream: 0x02,
  /** gRPC-Web: the trailers frame. */
  trailers: 0x80,
} as const;

/** One envelope: flags, a 4-byte big-endian length (which may lie), then the payload. */
export function envelope(payload: Uint8Array, declaredLength = payload.length, flags = 0): Buffer {
  const frame = Buffer.alloc(5 + payload.length);
  frame[0] = flags;
  frame.writeUInt32BE(declaredLength >>> 0, 1);
  frame.set(payload, 5);
  return frame;
}

export interface Envelope {
  flags: number;
  payload: Buffer;
}

/** Splits complete envelopes off `bytes`; `rest` holds an incomplete tail. */
export function parseEnvelopes(bytes: Buffer): { envelopes: Envelope[]; rest: Buffer } {
  const envelopes: Envelope[] = [];
  let at = 0;
  while (bytes.length - at >= 5) {
    const length = bytes.readUInt32BE(at + 1);
    if (bytes.length - at - 5 < length) break;
    envelopes.push({ flags: bytes[at]!, payload: bytes.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return { envelopes, rest: bytes.subarray(at) };
}

/** Header lines in the order given; a name may repeat. */
export type HeaderList = [name: string, value: string][];

/** The bytes of one HTTP/1.1 request, exactly as given: nothing is added, so the caller sets host and length. */
export function http1Request(method: string, target: string, headers: HeaderList, body: Uint8Array = new Uint8Array()): Buffer {
  const head = `${method} ${target} HTTP/1.1\r\n${headers.map(([name, value]) => `${name}: ${value}\r\n`).join("")}\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), body]);
}

export interface Http1Response {
  status: number;
  /** Lower-case names; a repeated header keeps every value. */
  headers: Record<string, string[]>;
  body: Buffer;
  /** Chunked-encoding trailers (gRPC over HTTP/1.1 puts its status there). */
  trailers: Record<string, string[]>;
}

/**
 * Parses as many complete responses as `bytes` holds. A response without a
 * length ends with the connection, so it is complete only once `ended`.
 */
export function parseHttp1Responses(bytes: Buffer, ended: boolean): { responses: Http1Response[]; rest: Buffer } {
  const responses: Http1Response[] = [];
  let at = 0;
  for (;;) {
    const parsed = parseOneResponse(bytes.subarray(at), ended);
    if (!parsed) break;
    at += parsed.consumed;
    // 1xx answers (100 Continue) precede the real one.
    if (parsed.response.status >= 200 || parsed.response.status < 100) responses.push(parsed.response);
  }
  return { responses, rest: bytes.subarray(at) };
}

function parseHeaderBlock(text: string): Record<string, string[]> {
  const headers: Record<string, string[]> = {};
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    (headers[name] ??= []).push(line.slice(colon + 1).trim());
  }
  return headers;
}

function parseOneResponse(bytes: Buffer, ended: boolean): { response: Http1Response; consumed: number } | undefined {
  const headEnd = bytes.indexOf("\r\n\r\n");
  if (headEnd < 0) return undefined;
  const head = bytes.subarray(0, headEnd).toString("latin1");
  const statusLine = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  if (!statusLine) return undefined;
  const status = Number(statusLine[1]);
  const headers = parseHeaderBlock(head.slice(head.indexOf("\r\n") + 2));
  let at = headEnd + 4;
  const noBody = status < 200 || status === 204 || status === 304;
  if (noBody) return { response: { status, headers, body: Buffer.alloc(0), trailers: {} }, consumed: at };
  if (headers["transfer-encoding"]?.some((v) => /chunked/i.test(v))) {
    const chunks: Buffer[] = [];
    for (;;) {
      const lineEnd = bytes.indexOf("\r\n", at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(bytes.subarray(at, lineEnd).toString("latin1"), 16);
      if (!Number.isFinite(size)) return undefined;
      at = lineEnd + 2;
      if (size === 0) {
        const trailerEnd = bytes.indexOf("\r\n\r\n", at - 2);
        if (trailerEnd < 0) return undefined;
        const trailers = parseHeaderBlock(bytes.subarray(at, trailerEnd).toString("latin1"));
        return { response: { status, headers, body: Buffer.concat(chunks), trailers }, consumed: trailerEnd + 4 };
      }
      if (bytes.length < at + size + 2) return undefined;
      chunks.push(bytes.subarray(at, at + size));
      at += size + 2;
    }
  }
  const length = headers["content-length"]?.[0];
  if (length !== undefined) {
    const end = at + Number(length);
    if (bytes.length < end) return undefined;
    return { response: { status, headers, body: bytes.subarray(at, end), trailers: {} }, consumed: end };
  }
  if (!ended) return undefined;
  return { response: { status, headers, body: bytes.subarray(at), trailers: {} }, consumed: bytes.length };
}

/** How a raw exchange ended, seen from the client. */
export type ExchangeEnd =
  | "answered" // every expected response (or stream) completed
  | "closed-by-server" // the server ended the connection first
  | "reset-by-client" // we hung up on purpose, as told
  | "bound"; // still open when the time bound passed

export interface Http1Exchange {
  /** Bytes to write, in order, one write each. */
  writes: Buffer[];
  /** How many complete responses end the exchange. */
  expectResponses: number;
  /** Half-close (FIN) once everything is written. */
  endAfterWrite?: boolean;
  /** Hang up with a TCP reset: once written (after `resetDelayMs`), or at the first byte of the answer. */
  resetAt?: "after-write" | "first-byte";
  resetDelayMs?: number;
  /** Never read: the server's writes back up until the bound. */
  stopReading?: boolean;
  /** Written once the expected responses have arrived on a still-open connection (a keep-alive reuse check); expects one more response. */
  followUp?: Buffer;
  boundMs: number;
}

export interface Http1Outcome {
  end: ExchangeEnd;
  responses: Http1Response[];
  /** Whether the follow-up request was answered (undefined when none was sent). */
  followUpAnswered?: boolean;
  received: number;
  ms: number;
}

/** The TCP connection under each TLS socket made here, so that a hang-up can reset it. */
const tcpUnder = new WeakMap<net.Socket, net.Socket>();

/** A loopback connection: plain TCP, or TLS (with the given ALPN protocols) over a TCP socket kept for hangUp. */
export function connectRaw(port: number, secure?: { ca: Buffer; alpn: string[] }): net.Socket {
  const tcp = net.connect({ host: "127.0.0.1", port });
  if (!secure) return tcp;
  // host, not servername: the certificate names 127.0.0.1, and SNI may not carry an IP address.
  const socket = tls.connect({ socket: tcp, host: "127.0.0.1", ca: secure.ca, ALPNProtocols: secure.alpn });
  tcpUnder.set(socket, tcp);
  return socket;
}

/** Hangs up with a TCP RST (under TLS too, when the socket came from connectRaw), else closes. */
export function hangUp(socket: net.Socket): void {
  const tcp = tcpUnder.get(socket) ?? socket;
  try {
    if (!tcp.destroyed && !(tcp instanceof tls.TLSSocket)) tcp.resetAndDestroy();
  } catch {
    // Not connected yet: a plain destroy does.
  }
  socket.destroy();
}

/** Runs one HTTP/1.1 exchange on a fresh connection (`net.connect` or `tls.connect`), bounded in time. */
export function exchangeHttp1(connect: () => net.Socket, exchange: Http1Exchange): Promise<Http1Outcome> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect();
    const received: Buffer[] = [];
    let size = 0;
    let settled = false;
    let followUpSent = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (end: ExchangeEnd) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      const all = Buffer.concat(received);
      // A response without a length ends with the connection.
      const { responses } = parseHttp1Responses(all, end === "closed-by-server");
      if (end === "reset-by-client") hangUp(socket);
      else socket.destroy();
      const answered = followUpSent ? responses.length > exchange.expectResponses : undefined;
      resolve({ end, responses: responses.slice(0, exchange.expectResponses), followUpAnswered: answered, received: size, ms: Date.now() - started });
    };
    timers.push(setTimeout(() => finish("bound"), exchange.boundMs));
    socket.on("error", () => finish("closed-by-server"));
    socket.on("close", () => finish("closed-by-server"));
    socket.on("end", () => finish("closed-by-server"));
    if (exchange.stopReading) socket.pause();
    socket.on("data", (chunk: Buffer) => {
      received.push(chunk);
      size += chunk.length;
      if (exchange.resetAt === "first-byte") return finish("reset-by-client");
      const { responses } = parseHttp1Responses(Buffer.concat(received), false);
      if (responses.length >= exchange.expectResponses + (followUpSent ? 1 : 0)) {
        const last = responses[exchange.expectResponses - 1];
        const serverCloses = last?.headers.connection?.some((v) => /close/i.test(v));
        if (exchange.followUp && !followUpSent && !serverCloses && !exchange.endAfterWrite) {
          followUpSent = true;
          socket.write(exchange.followUp);
          return;
        }
        finish("answered");
      }
    });
    const writeAll = () => {
      for (const bytes of exchange.writes) if (!socket.destroyed) socket.write(bytes);
      if (exchange.endAfterWrite && !socket.destroyed) socket.end();
      if (exchange.resetAt === "after-write") {
        timers.push(setTimeout(() => finish("reset-by-client"), exchange.resetDelayMs ?? 0));
      }
    };
    // TLS sockets hold writes until the handshake ends, but a reset must not come before the bytes left.
    socket.once(socket instanceof tls.TLSSocket ? "secureConnect" : "connect", writeAll);
  });
}

export interface H2Exchange {
  headers: http2.OutgoingHttpHeaders;
  /** Body writes, in order. */
  writes: Buffer[];
  /** End the request stream (END_STREAM) after writing; false leaves it open. */
  endStream: boolean;
  /** Cancel the stream (RST_STREAM CANCEL) or drop the whole connection (TCP reset), once written or at the first answer byte. */
  cancelAt?: "after-write" | "first-byte" | "headers";
  cancelHow?: "rst-stream" | "tcp-reset";
  cancelDelayMs?: number;
  /** Never read the answer: flow control backs the server up until the bound. */
  stopReading?: boolean;
  boundMs: number;
}

export interface H2Outcome {
  end: ExchangeEnd;
  status?: number;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
  /** The RST_STREAM code when the server reset the stream. */
  rstCode?: number;
  /** Set when the client library refused to send the request (e.g. a header value it will not encode). */
  refusedLocally?: string;
  ms: number;
}

/** Runs one request on an HTTP/2 session, bounded in time. */
export function exchangeH2(session: http2.ClientHttp2Session, exchange: H2Exchange): Promise<H2Outcome> {
  return new Promise((resolve) => {
    const started = Date.now();
    const outcome: H2Outcome = { end: "bound", headers: {}, trailers: {}, body: Buffer.alloc(0), ms: 0 };
    const chunks: Buffer[] = [];
    let settled = false;
    let stream: http2.ClientHttp2Stream;
    const timers: NodeJS.Timeout[] = [];
    const finish = (end: ExchangeEnd) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      if (end === "reset-by-client" && exchange.cancelHow === "tcp-reset") {
        const socket = sessionSockets.get(session);
        if (socket) hangUp(socket);
        session.destroy();
      } else if (stream && !stream.closed) {
        stream.close(http2.constants.NGHTTP2_CANCEL);
      }
      resolve({ ...outcome, end, body: Buffer.concat(chunks), ms: Date.now() - started });
    };
    try {
      stream = session.request(exchange.headers, { endStream: false });
    } catch (error) {
      outcome.refusedLocally = (error as Error).message;
      finish("reset-by-client");
      return;
    }
    timers.push(setTimeout(() => finish("bound"), exchange.boundMs));
    const cancelLater = () => timers.push(setTimeout(() => finish("reset-by-client"), exchange.cancelDelayMs ?? 0));
    stream.on("response", (headers) => {
      outcome.headers = headers;
      outcome.status = Number(headers[":status"]);
      if (exchange.cancelAt === "headers") cancelLater();
    });
    stream.on("trailers", (trailers) => (outcome.trailers = trailers));
    stream.on("error", () => undefined);
    if (exchange.stopReading) stream.pause();
    stream.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      if (exchange.cancelAt === "first-byte") finish("reset-by-client");
    });
    stream.on("close", () => {
      if (stream.rstCode && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) outcome.rstCode = stream.rstCode;
      finish(outcome.status === undefined || outcome.rstCode !== undefined ? "closed-by-server" : "answered");
    });
    for (const bytes of exchange.writes) stream.write(bytes);
    if (exchange.endStream) stream.end();
    if (exchange.cancelAt === "after-write") cancelLater();
  });
}

/** Node hides a session's socket behind a proxy that refuses resets; the socket we made is kept here. */
const sessionSockets = new WeakMap<http2.ClientHttp2Session, net.Socket>();

/** Opens an HTTP/2 session on loopback (h2c, or TLS with ALPN h2 when `ca` is given) and waits until it is usable. */
export function openH2Session(port: number, ca?: Buffer): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const socket = connectRaw(port, ca ? { ca, alpn: ["h2"] } : undefined);
    const session = http2.connect(`${ca ? "https" : "http"}://127.0.0.1:${port}`, { createConnection: () => socket });
    sessionSockets.set(session, socket);
    const onError = (error: Error) => reject(error);
    session.once("error", onError);
    session.once("connect", () => {
      session.off("error", onError);
      session.on("error", () => undefined);
      resolve(session);
    });
  });
}

/** Closes a session, and destroys it if it has not closed by the bound. */
export function closeH2Session(session: http2.ClientHttp2Session, boundMs = 1000): Promise<void> {
  return new Promise((resolve) => {
    if (session.destroyed) return resolve();
    const timer = setTimeout(() => {
      session.destroy();
      resolve();
    }, boundMs);
    session.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The status a client would act on, from every place a protocol may put it. */
export interface RpcAnswer {
  /** "ok", a gRPC/Connect code name in snake case (e.g. "invalid_argument"), or "http <status>" when the answer had none. */
  code: string;
  message: string;
  httpStatus?: number;
}

const grpcCodeNames = [
  "ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists", "permission_denied",
  "resource_exhausted", "failed_precondition", "aborted", "out_of_range", "unimplemented", "internal", "unavailable", "data_loss",
  "unauthenticated",
];

export function grpcCodeName(status: string | number): string {
  return grpcCodeNames[Number(status)] ?? `grpc-status ${status}`;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function decodeMessage(value: string | undefined): string {
  if (value === undefined) return "";
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Reads the answer's status: gRPC's grpc-status (headers, HTTP/2 or chunked
 * trailers, or the gRPC-Web trailers frame, base64 for grpc-web-text),
 * Connect streaming's end-stream message, Connect unary's JSON error body,
 * else the HTTP status.
 */
export function rpcAnswer(
  httpStatus: number | undefined,
  headers: Record<string, string | string[] | undefined>,
  trailers: Record<string, string | string[] | undefined>,
  body: Buffer,
): RpcAnswer {
  const headerStatus = first(trailers["grpc-status"]) ?? first(headers["grpc-status"]);
  if (headerStatus !== undefined) {
    return { code: grpcCodeName(headerStatus), message: decodeMessage(first(trailers["grpc-message"]) ?? first(headers["grpc-message"])), httpStatus };
  }
  const contentType = first(headers["content-type"]) ?? "";
  let bytes = body;
  if (/grpc-web-text/i.test(contentType)) bytes = Buffer.from(body.toString("latin1"), "base64");
  if (/^application\/(grpc|connect\+)/i.test(contentType)) {
    for (const { flags, payload } of parseEnvelopes(bytes).envelopes) {
      if (flags & envelopeFlags.trailers) {
        const fields = parseHeaderBlock(payload.toString("utf8"));
        const status = fields["grpc-status"]?.[0];
        if (status !== undefined) return { code: grpcCodeName(status), message: decodeMessage(fields["grpc-message"]?.[0]), httpStatus };
      } else if (flags & envelopeFlags.endStream) {
        try {
          const end = JSON.parse(payload.toString("utf8")) as { error?: { code?: string; message?: string } };
          return end.error ? { code: end.error.code ?? "unknown", message: end.error.message ?? "", httpStatus } : { code: "ok", message: "", httpStatus };
        } catch {
          return { code: "unparsable end-stream message", message: payload.toString("utf8").slice(0, 200), httpStatus };
        }
      }
    }
    return { code: httpStatus === 200 ? "no status" : `http ${httpStatus}`, message: "", httpStatus };
  }
  if (httpStatus !== undefined && httpStatus >= 200 && httpStatus < 300) return { code: "ok", message: "", httpStatus };
  if (/json/i.test(contentType)) {
    try {
      const error = JSON.parse(body.toString("utf8")) as { code?: unknown; message?: unknown };
      // Only Connect's codes: other JSON error bodies (Fastify's, for one) have codes of their own.
      if (typeof error.code === "string" && grpcCodeNames.includes(error.code)) return { code: error.code, message: String(error.message ?? ""), httpStatus };
    } catch {
      // Not a Connect error body; the HTTP status says it all.
    }
  }
  return { code: `http ${httpStatus ?? "none"}`, message: body.toString("utf8").slice(0, 200), httpStatus };
}
