import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";
import type { TlsFiles } from "./config.js";

type RequestHandler = (
  request: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** Every HTTP/2 connection starts with these 24 bytes (RFC 9113, section 3.4). */
const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * Per-connection HTTP/2 buffer, in MB. Node's default of 10 is reached by the
 * bytes already in flight when a request of ~9 MB is refused for its size, and
 * Node then kills the whole connection; 64 leaves room to refuse such a
 * request cleanly (RESOURCE_EXHAUSTED) and keep serving the connection.
 */
const http2SessionMemoryMb = 64;

/** How long a client may go on sending a body nobody reads, after its answer. */
const drainLimitMs = 1_000;

/** A client that opens a connection and does not finish its preface or headers is dropped after this long. */
const prefaceTimeoutMs = 10_000;

/**
 * One port for HTTP/1.1 and HTTP/2. With TLS, ALPN picks the version. In
 * cleartext, Node has no server for both, so a plain TCP server reads the first
 * bytes of each connection: the HTTP/2 preface goes to an h2c server, anything
 * else to an HTTP/1.1 server. Both call the same handler (Fastify's).
 */
export function createDualProtocolServer(
  fastifyHandler: RequestHandler,
  tlsFiles?: TlsFiles,
  closeGraceMs = 10_000,
): net.Server {
  const handler: RequestHandler = (request, response) => {
    // The stream's own "finish" (our side ended), not the response's, which
    // Node's HTTP/2 compat layer emits only once the whole stream closes.
    if ("stream" in response) response.stream.once("finish", () => discardUnreadBody(request));
    fastifyHandler(request, response);
  };
  if (tlsFiles) {
    const secure = http2.createSecureServer(
      {
        cert: tlsFiles.cert,
        key: tlsFiles.key,
        allowHTTP1: true,
        maxSessionMemory: http2SessionMemoryMb,
        noDelay: true,
        ...(tlsFiles.clientCa ? { ca: tlsFiles.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
      },
      handler,
    );
    return withBoundedClose(secure, secure, closeGraceMs);
  }
  const http1Server = http.createServer(handler as http.RequestListener);
  enforceHeadersDeadline(http1Server, prefaceTimeoutMs);
  const http2Server = http2.createServer({ maxSessionMemory: http2SessionMemoryMb }, handler);
  // Small frames end every answer (trailers, END_STREAM); with Nagle's
  // algorithm on, they could wait for the previous segment's acknowledgement.
  const front = net.createServer({ noDelay: true }, (socket) => routeConnection(socket, http1Server, http2Server));
  return withBoundedClose(front, http2Server, closeGraceMs, http1Server);
}

/**
 * Makes close() finish: idle HTTP/1.1 connections close at once, HTTP/2
 * sessions get GOAWAY and may finish their streams, and whatever is still
 * open after `graceMs` is destroyed. Without the bound, one stuck stream keeps
 * the process alive forever.
 */
function withBoundedClose(
  listener: net.Server,
  http2Server: http2.Http2Server | http2.Http2SecureServer,
  graceMs: number,
  http1Server?: http.Server,
): net.Server {
  const sockets = new Set<net.Socket>();
  listener.on(listener instanceof tls.Server ? "secureConnection" : "connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  http2Server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  const destroyAll = () => {
    for (const session of sessions) session.destroy();
    for (const socket of sockets) socket.destroy();
  };
  const closeListener = listener.close.bind(listener);
  listener.close = (callback?: (error?: Error) => void) => {
    closeListener(callback);
    http1Server?.closeIdleConnections();
    for (const session of sessions) session.close();
    setTimeout(destroyAll, graceMs).unref();
    return listener;
  };
  Object.assign(listener, {
    closeAllConnections: destroyAll,
    closeIdleConnections: () => http1Server?.closeIdleConnections(),
  });
  return listener;
}

/**
 * A refused request (too large, unauthenticated...) is answered before its
 * body is read. Over HTTP/2 the client may still be sending, blocked by flow
 * control, and the unread bytes stay charged to the connection until Node
 * refuses every further stream on it (ENHANCE_YOUR_CALM). Once the answer is
 * out, read and drop the rest so the stream completes normally; a client that
 * keeps sending past `drainLimitMs` gets its stream reset. (A reset at once
 * could drop answer frames still queued.) HTTP/1.1 discards the rest by itself.
 */
function discardUnreadBody(request: http.IncomingMessage | http2.Http2ServerRequest): void {
  if (!("stream" in request) || request.complete || request.stream.destroyed) return;
  request.resume();
  setTimeout(() => {
    if (!request.complete && !request.stream.destroyed) request.stream.close(http2.constants.NGHTTP2_CANCEL);
  }, drainLimitMs).unref();
}

/**
 * Drops an HTTP/1.1 connection whose request headers have not all arrived
 * within `deadlineMs`, counted from the connection or from the previous
 * answer. Node's own headersTimeout is checked by a timer that starts only
 * when that server listens, and ours never does: the front hands it sockets.
 */
function enforceHeadersDeadline(http1Server: http.Server, deadlineMs: number): void {
  const timers = new WeakMap<net.Socket, NodeJS.Timeout>();
  const arm = (socket: net.Socket) => {
    clearTimeout(timers.get(socket));
    if (!socket.destroyed) timers.set(socket, setTimeout(() => socket.destroy(), deadlineMs).unref());
  };
  http1Server.on("connection", (socket: net.Socket) => {
    arm(socket);
    socket.once("close", () => clearTimeout(timers.get(socket)));
  });
  http1Server.on("request", (request: http.IncomingMessage, response: http.ServerResponse) => {
    clearTimeout(timers.get(request.socket));
    response.once("finish", () => arm(request.socket));
  });
}

function routeConnection(socket: net.Socket, http1Server: http.Server, http2Server: http2.Http2Server): void {
  let received: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), prefaceTimeoutMs);
  const handOver = (protocol: "http1" | "http2") => {
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("error", onError);
    socket.pause();
    if (protocol === "http2") {
      // The h2 session reads bytes already buffered on the socket, so put them back.
      socket.unshift(received);
      http2Server.emit("connection", socket);
    } else {
      // The HTTP/1.1 parser reads the socket's handle directly and would never
      // see unshifted bytes; replay them as a data event instead.
      http1Server.emit("connection", socket);
      socket.emit("data", received);
      socket.resume();
    }
  };
  const onData = (chunk: Buffer) => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    const compared = Math.min(received.length, http2Preface.length);
    if (!received.subarray(0, compared).equals(http2Preface.subarray(0, compared))) {
      handOver("http1");
    } else if (received.length >= http2Preface.length) {
      handOver("http2");
    }
  };
  const onError = () => {
    clearTimeout(timer);
    socket.destroy();
  };
  socket.on("data", onData);
  socket.on("error", onError);
}
