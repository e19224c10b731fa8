import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { TlsFiles } from "./config.js";
import {
  defaultIdleTimeoutMs,
  defaultMaxConnections,
  OpenConnections,
  type ConnectionLimits,
  type ConnectionLog,
} from "./open-connections.js";

type RequestHandler = (
  request: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
) => void;

export interface DualProtocolOptions extends Partial<ConnectionLimits> {
  /** Serve TLS (ALPN h2 and http/1.1) instead of cleartext. */
  tls?: TlsFiles;
  /** After close(), how long open calls may finish before their connections are destroyed; default 10 s. */
  closeGraceMs?: number;
  /** How long a request's body may take to arrive, from its headers (or its turn, HTTP/1.1); default 30 s. */
  requestBodyTimeoutMs?: number;
  /** Hears about faults contained in connection callbacks, and about the connection cap. */
  log?: FaultLog;
}

export interface FaultLog extends ConnectionLog {
  error(fields: object, message: string): void;
}

/** Every HTTP/2 connection starts with these 24 bytes (RFC 9113, section 3.4). */
const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * Per-connection HTTP/2 buffer, in MB. Node's default of 10 is reached by the
 * bytes already in flight when a request of ~9 MB is refused for its size, and
 * Node then kills the whole connection; 64 leaves room to refuse such a
 * request cleanly (RESOURCE_EXHAUSTED) and keep serving the connection.
 */
const http2SessionMemoryMb = 64;

/**
 * Streams one HTTP/2 connection may have open at once. Node's default is
 * 2^32-1, so one connection could hold thousands of half-sent bodies; grpc-go
 * and nginx allow 100 to 128. Clients queue past it (the SETTINGS frame
 * tells them), they are not refused.
 */
const http2MaxConcurrentStreams = 100;

/**
 * Every Osiris RPC takes one request message (no client streaming), so a
 * request's body is due soon after its headers. A client that trickles it
 * holds buffers, a stream and, over HTTP/1.1, a connection that never looks
 * idle; past this bound it is cut. Only the body is bounded: a long answer
 * (a log follow, an event watch) runs as long as it likes.
 */
const defaultRequestBodyTimeoutMs = 30_000;

/** How long a client may go on sending a body nobody reads, after its answer (HTTP/2). */
const drainLimitMs = 1_000;

/**
 * After an HTTP/1.1 answer, how much more of its request's body the server
 * reads and drops so that the connection can serve its next request, and for
 * how long. Past either bound the connection is closed: a client may not make
 * the server read forever. 16 MiB covers a body a few times over the default
 * OSIRIS_READ_MAX_BYTES (4 MiB), the usual refused upload.
 */
const http1DiscardLimitBytes = 16 * 1024 * 1024;
const http1DiscardLimitMs = 5_000;

/**
 * Requests an HTTP/1.1 client may send ahead of its answers before the
 * connection is closed. Pipelining clients are rare (browsers and curl do not
 * pipeline), and those that do keep a handful in flight.
 */
const maxPipelinedRequests = 64;

/**
 * A client that opens a connection and does not finish its preface, headers
 * or TLS handshake is dropped after this long (Node's TLS default is 120 s).
 */
const prefaceTimeoutMs = 10_000;

/**
 * One port for HTTP/1.1 and HTTP/2. With TLS, ALPN picks the version. In
 * cleartext, Node has no server for both, so a plain TCP server reads the first
 * bytes of each connection: the HTTP/2 preface goes to an h2c server, anything
 * else to an HTTP/1.1 server. Both call the same handler (Fastify's).
 *
 * Every callback here runs for one connection, and a throw in an event
 * callback would end the process with every other connection: each is
 * wrapped by `contain`, which logs the fault and closes that one connection.
 * Node's defaults stay the last resort for protocol errors: the HTTP/1.1
 * server answers a malformed request 400 and closes (no "clientError"
 * listener, on purpose), and HTTP/2 sessions and compat streams carry their own
 * "error" listeners.
 */
export function createDualProtocolServer(fastifyHandler: RequestHandler, options: DualProtocolOptions = {}): net.Server {
  const { tls: tlsFiles, closeGraceMs = 10_000, requestBodyTimeoutMs = defaultRequestBodyTimeoutMs, log } = options;
  const contain = faultContainer(log);
  const connections = new OpenConnections(
    {
      idleTimeoutMs: options.idleTimeoutMs ?? defaultIdleTimeoutMs,
      maxConnections: options.maxConnections ?? defaultMaxConnections(),
    },
    log,
  );
  // Cleartext only: with TLS, Node's secure server checks its own headersTimeout.
  const headersDeadline = tlsFiles ? undefined : new HeadersDeadline(prefaceTimeoutMs);
  const pipelines = new OneExchangeAtATime();
  const handler: RequestHandler = (request, response) => {
    const serve = contain(
      "handling a request",
      () => {
        // Armed when the request is served: a pipelined HTTP/1.1 request's body is not read before its turn.
        armRequestBodyDeadline(request, requestBodyTimeoutMs, contain);
        fastifyHandler(request, response);
      },
      () => response.destroy(),
    );
    contain(
      "tracking a request",
      () => {
        // The stream's own "finish" (our side ended), not the response's, which
        // Node's HTTP/2 compat layer emits only once the whole stream closes.
        if ("stream" in response) {
          response.stream.once("finish", contain("discarding an unread body", () => discardUnreadBody(request)));
          serve();
          return;
        }
        // HTTP/2 streams are counted by their session; HTTP/1.1 exchanges here.
        const socket = request.socket as net.Socket;
        keepRequestWholeOnEarlyReturn(request as http.IncomingMessage);
        const ended = [connections.requestStartedOn(socket), headersDeadline?.requestStartedOn(socket)];
        // Followed before it is served: Node may emit "prefinish" within the handler's call.
        followHttp1Exchange(request as http.IncomingMessage, response, socket, () => ended.forEach((end) => end?.()), contain);
        ended.push(pipelines.join(socket, serve));
      },
      () => response.destroy(),
    )();
  };
  const trackSession = contain("tracking an HTTP/2 session", (session: http2.ServerHttp2Session) => connections.attachSession(session));
  if (tlsFiles) {
    const secure = http2.createSecureServer(
      {
        cert: tlsFiles.cert,
        key: tlsFiles.key,
        allowHTTP1: true,
        maxSessionMemory: http2SessionMemoryMb,
        settings: { maxConcurrentStreams: http2MaxConcurrentStreams },
        noDelay: true,
        handshakeTimeout: prefaceTimeoutMs,
        ...(tlsFiles.clientCa ? { ca: tlsFiles.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
      },
      handler,
    );
    // "connection" is the TCP socket, before the handshake: a handshake in progress holds a descriptor too.
    secure.on("connection", contain("accepting a connection", (socket: net.Socket) => void connections.adopt(socket), destroySocket));
    secure.on("session", trackSession);
    return withBoundedClose(secure, connections, closeGraceMs);
  }
  const http1Server = http.createServer(handler as http.RequestListener);
  http1Server.on("connection", contain("arming the headers deadline", (socket: net.Socket) => headersDeadline?.connectionOpened(socket), destroySocket));
  const http2Server = http2.createServer(
    { maxSessionMemory: http2SessionMemoryMb, settings: { maxConcurrentStreams: http2MaxConcurrentStreams } },
    handler,
  );
  http2Server.on("session", trackSession);
  // Small frames end every answer (trailers, END_STREAM); with Nagle's
  // algorithm on, they could wait for the previous segment's acknowledgement.
  const front = net.createServer(
    { noDelay: true },
    contain(
      "accepting a connection",
      (socket: net.Socket) => {
        if (connections.adopt(socket)) routeConnection(socket, http1Server, http2Server, contain);
      },
      destroySocket,
    ),
  );
  return withBoundedClose(front, connections, closeGraceMs);
}

type Contain = ReturnType<typeof faultContainer>;

/**
 * Wraps a per-connection callback so that a throw in it is logged and, through
 * `onFault`, ends only what it was serving, never the process.
 */
function faultContainer(log: FaultLog | undefined) {
  return <A extends unknown[]>(where: string, callback: (...args: A) => void, onFault?: (...args: A) => void) =>
    (...args: A): void => {
      try {
        callback(...args);
      } catch (error) {
        log?.error({ err: error, where }, `contained a fault while ${where}; closed that connection and kept serving`);
        try {
          onFault?.(...args);
        } catch {
          // Nothing more can be done for this connection; the process goes on.
        }
      }
    };
}

function destroySocket(socket: net.Socket): void {
  socket.destroy();
}

/**
 * Makes close() finish: idle HTTP/1.1 connections close at once, HTTP/2
 * sessions get GOAWAY and may finish their streams, and whatever is still
 * open after `graceMs` is destroyed. Without the bound, one stuck stream keeps
 * the process alive forever.
 */
function withBoundedClose(listener: net.Server, connections: OpenConnections, graceMs: number): net.Server {
  const closeListener = listener.close.bind(listener);
  listener.close = (callback?: (error?: Error) => void) => {
    closeListener(callback);
    connections.closeGracefully(graceMs);
    return listener;
  };
  Object.assign(listener, {
    closeAllConnections: () => connections.destroyAll(),
    closeIdleConnections: () => connections.closeIdle(),
  });
  return listener;
}

/**
 * Cuts a request whose body has not all arrived within `timeoutMs`: an HTTP/2
 * stream is reset (CANCEL), an HTTP/1.1 connection closed (its parser cannot
 * skip the rest of a body). Whether it arrived is asked when the timer fires,
 * so an answer that outlives its request is never cut.
 */
function armRequestBodyDeadline(request: http.IncomingMessage | http2.Http2ServerRequest, timeoutMs: number, contain: Contain): void {
  if (request.complete || request.readableEnded) return;
  const socket = "stream" in request ? undefined : (request.socket as net.Socket | null);
  const cut = contain("cutting a request whose body is late", () => {
    if (request.complete || request.readableEnded) return;
    if ("stream" in request) {
      if (!request.stream.destroyed) request.stream.close(http2.constants.NGHTTP2_CANCEL);
    } else {
      socket?.destroy();
    }
  });
  const timer = setTimeout(cut, timeoutMs).unref();
  const clear = () => clearTimeout(timer);
  request.once("end", clear);
  request.once("close", clear);
}

/**
 * A refused request (too large, unauthenticated...) is answered before its
 * body is read. Over HTTP/2 the client may still be sending, blocked by flow
 * control, and the unread bytes stay charged to the connection until Node
 * refuses every further stream on it (ENHANCE_YOUR_CALM). Once the answer is
 * out, read and drop the rest so the stream completes normally; a client that
 * keeps sending past `drainLimitMs` gets its stream reset. (A reset at once
 * could drop answer frames still queued.) HTTP/1.1: see discardUnreadHttp1Body.
 */
function discardUnreadBody(request: http.IncomingMessage | http2.Http2ServerRequest): void {
  if (!("stream" in request) || request.complete || request.stream.destroyed) return;
  const stream = request.stream;
  request.resume();
  setTimeout(() => {
    if (!request.complete && !stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
  }, drainLimitMs).unref();
}

/**
 * An HTTP/1.1 exchange ends when its answer is out and its request's body has
 * been read or discarded: only then may the connection count as idle, and only
 * then are the next request's headers due. `onEnded` is called once, also when
 * the connection goes away first.
 *
 * The discard starts at "prefinish" (the answer is all written to the socket)
 * rather than "finish": on "finish", Node drops a body nobody read at any
 * speed and length; taken first, the body stays within our bounds.
 *
 * The socket is captured when the request arrives: by the answer's "finish",
 * Node may already have detached it from the request (`request.socket` is
 * then null), which crashed the process on refused gRPC-Web calls.
 */
function followHttp1Exchange(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  socket: net.Socket,
  onEnded: () => void,
  contain: Contain,
): void {
  let answered = false;
  let bodyDone = false;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    onEnded();
  };
  const endOnceBoth = () => void (answered && bodyDone && end());
  response.once(
    "prefinish",
    contain(
      "discarding an unread body",
      () => discardUnreadHttp1Body(request, socket, () => ((bodyDone = true), endOnceBoth()), contain),
      () => {
        socket.destroy();
        end();
      },
    ),
  );
  response.once("finish", contain("ending an exchange", () => ((answered = true), endOnceBoth())));
  // Without "finish": the connection closed before the answer was out.
  response.once("close", contain("ending an exchange", () => void (response.writableFinished || end())));
}

/**
 * A request answered before its body was all read (refused for its size or
 * its credentials, or an unknown route) leaves the rest of the body on the
 * connection. Node drops it by itself only when nobody started reading; when
 * the handler read part of it and stopped (connect-es refusing an envelope
 * longer than readMaxBytes), the body sits paused, Node stops reading the
 * socket, and the keep-alive connection hangs: its next request is neither
 * answered nor refused until a timeout closes the connection.
 *
 * So once the answer is out, read and drop the rest (as Node's own dump and
 * nginx's discarded body do), bounded by `http1DiscardLimitBytes` and
 * `http1DiscardLimitMs`; the connection then serves its next request,
 * pipelined ones included. Past either bound, the connection is closed. This
 * rather than answering `Connection: close`: Node closes such a connection as
 * soon as the answer is written, with the client's bytes still unread, and the
 * kernel then sends a reset that can destroy the answer before the client read
 * it (why nginx lingers on close). Reading the rest keeps the answer safe and
 * the connection reusable; the bounds keep it cheap.
 */
function discardUnreadHttp1Body(request: http.IncomingMessage, socket: net.Socket, onDone: () => void, contain: Contain): void {
  // Everything arrived and nothing waits in the request's buffer: nothing holds the connection.
  if (socket.destroyed || request.readableEnded || (request.complete && request.readableLength === 0)) {
    onDone();
    return;
  }
  if (request.destroyed) {
    // Destroyed by a reader other than connect-es's (see keepRequestWholeOnEarlyReturn):
    // Node no longer reads this connection, so it can only be closed.
    socket.destroySoon();
    onDone();
    return;
  }
  let discarded = 0;
  const stop = () => {
    clearTimeout(timer);
    request.off("readable", discard);
    request.off("end", stop);
    request.off("close", stop);
    socket.off("close", stop);
    onDone();
  };
  const giveUp = () => {
    socket.destroy();
    stop();
  };
  const discard = contain(
    "discarding an unread body",
    () => {
      // read() also restarts the socket reads that Node stopped while the body sat unread.
      for (let chunk: Buffer | null = request.read(); chunk !== null; chunk = request.read()) {
        discarded += chunk.length;
        if (discarded > http1DiscardLimitBytes) return giveUp();
      }
    },
    giveUp,
  );
  const timer = setTimeout(contain("closing a connection that sent too much unread body", giveUp), http1DiscardLimitMs).unref();
  // As Node's own dump: whoever listened for the body is done with it.
  request.removeAllListeners("data");
  request.on("readable", discard);
  request.once("end", stop);
  request.once("close", stop);
  socket.once("close", stop);
  discard();
}

/**
 * connect-es reads a request body with `for await`, and leaves that loop early
 * when it refuses the body midway (an envelope longer than readMaxBytes).
 * Node's async iterator then destroys an HTTP/1.1 request but not its socket
 * (it detaches the socket first, to spare the connection); the parser, unable
 * to push the rest of the body into the destroyed request, stops reading the
 * socket for good, and the keep-alive connection hangs. Iterating without
 * destroy-on-return leaves the request whole, so that the rest of its body can
 * be discarded once the answer is out. An iterator that fails still destroys.
 */
function keepRequestWholeOnEarlyReturn(request: http.IncomingMessage): void {
  Object.defineProperty(request, Symbol.asyncIterator, {
    configurable: true,
    writable: true,
    value: () => request.iterator({ destroyOnReturn: false }),
  });
}

/**
 * Serves the requests of one HTTP/1.1 connection one at a time: the next
 * starts once the exchange before it has ended (answer out, body read or
 * discarded), as nginx and Go's net/http do. Node emits every pipelined
 * request at once, and so ran them side by side: one write of a hundred
 * pipelined `GET /metrics` from a client that never read made the server
 * render a hundred scrapes in one event-loop turn, and every other
 * connection waited the better part of a second for its next answer. RFC
 * 9112, section 9.3.2, allows parallel processing only of safe methods, and
 * our RPCs are POSTs. A client that does not read its answers now holds up
 * only itself: its next request is not started until the answer before it
 * was taken by the socket.
 */
class OneExchangeAtATime {
  /** Per connection, the exchange being served first, then those waiting their turn. */
  private readonly lines = new WeakMap<net.Socket, (() => void)[]>();

  /**
   * Calls `serve` now, or once the exchanges before it on `socket` have
   * ended; call the result once this one has. A connection that would have
   * more than `maxPipelinedRequests` waiting is closed instead.
   */
  join(socket: net.Socket, serve: () => void): () => void {
    let line = this.lines.get(socket);
    if (!line) {
      line = [];
      this.lines.set(socket, line);
    }
    if (socket.destroyed || line.length > maxPipelinedRequests) {
      // Node goes on parsing what the client sent, whether or not anything is
      // answered; without a bound, requests pipelined behind a log follow
      // would pile up in memory. A client that pipelines must be ready to
      // send again what a closed connection left unanswered (RFC 9112, 9.3.2).
      socket.destroy();
      line.length = 0;
      this.lines.delete(socket);
      return () => undefined;
    }
    const own = line;
    // A function of its own, so that the same handler twice is two turns.
    const turn = () => serve();
    own.push(turn);
    if (own.length === 1) turn();
    return () => {
      const at = own.indexOf(turn);
      if (at === -1) return;
      own.splice(at, 1);
      // A request that never had its turn ends only with its connection.
      if (at !== 0) return;
      if (socket.destroyed) own.length = 0;
      if (own.length === 0) {
        if (this.lines.get(socket) === own) this.lines.delete(socket);
        return;
      }
      own[0]!();
    };
  }
}

/**
 * Drops an HTTP/1.1 connection whose request headers have not all arrived
 * within the deadline, counted from the connection or from the end of the
 * previous exchange. Node's own headersTimeout is checked by a timer that
 * starts only when that server listens, and ours never does: the front hands
 * it sockets. While any exchange is in flight (pipelined requests included)
 * no deadline runs: a long answer, such as a log follow, must not be cut.
 */
class HeadersDeadline {
  private readonly timers = new WeakMap<net.Socket, NodeJS.Timeout>();
  private readonly inFlight = new WeakMap<net.Socket, number>();

  constructor(private readonly deadlineMs: number) {}

  connectionOpened(socket: net.Socket): void {
    this.arm(socket);
    socket.once("close", () => clearTimeout(this.timers.get(socket)));
  }

  /** A request's headers arrived; call the result once its exchange has ended. */
  requestStartedOn(socket: net.Socket): () => void {
    clearTimeout(this.timers.get(socket));
    this.inFlight.set(socket, (this.inFlight.get(socket) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = Math.max(0, (this.inFlight.get(socket) ?? 1) - 1);
      this.inFlight.set(socket, left);
      if (left === 0) this.arm(socket);
    };
  }

  private arm(socket: net.Socket): void {
    clearTimeout(this.timers.get(socket));
    if (!socket.destroyed) this.timers.set(socket, setTimeout(() => socket.destroy(), this.deadlineMs).unref());
  }
}

function routeConnection(socket: net.Socket, http1Server: http.Server, http2Server: http2.Http2Server, contain: Contain): void {
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
  const onData = contain(
    "routing a connection by its first bytes",
    (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const compared = Math.min(received.length, http2Preface.length);
      if (!received.subarray(0, compared).equals(http2Preface.subarray(0, compared))) {
        handOver("http1");
      } else if (received.length >= http2Preface.length) {
        handOver("http2");
      }
    },
    () => socket.destroy(),
  );
  const onError = () => {
    clearTimeout(timer);
    socket.destroy();
  };
  socket.on("data", onData);
  socket.on("error", onError);
  socket.once("close", () => clearTimeout(timer));
}
