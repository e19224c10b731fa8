import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { TlsFiles } from "./config.js";

type RequestHandler = (
  request: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** Every HTTP/2 connection starts with these 24 bytes (RFC 9113, section 3.4). */
const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** A client that opens a connection and says nothing is dropped after this long. */
const prefaceTimeoutMs = 10_000;

/**
 * One port for HTTP/1.1 and HTTP/2. With TLS, ALPN picks the version. In
 * cleartext, Node has no server for both, so a plain TCP server reads the first
 * bytes of each connection: the HTTP/2 preface goes to an h2c server, anything
 * else to an HTTP/1.1 server. Both call the same handler (Fastify's).
 */
export function createDualProtocolServer(handler: RequestHandler, tls?: TlsFiles): net.Server {
  if (tls) {
    return http2.createSecureServer({ cert: tls.cert, key: tls.key, allowHTTP1: true }, handler);
  }
  const http1Server = http.createServer(handler as http.RequestListener);
  const http2Server = http2.createServer(handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  http2Server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });

  const front = net.createServer((socket) => routeConnection(socket, http1Server, http2Server));
  const closeFront = front.close.bind(front);
  // Fastify closes the server it was given; pass that on to both protocol servers.
  front.close = (callback?: (error?: Error) => void) => {
    closeFront(callback);
    http1Server.closeIdleConnections();
    for (const session of sessions) session.close();
    return front;
  };
  Object.assign(front, {
    closeAllConnections() {
      http1Server.closeAllConnections();
      for (const session of sessions) session.destroy();
    },
    closeIdleConnections() {
      http1Server.closeIdleConnections();
    },
  });
  return front;
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
