import { readFileSync } from "node:fs";
import type http2 from "node:http2";
import type net from "node:net";

/** OSIRIS_IDLE_TIMEOUT_MS's default: a minute, a little under nginx's 75 s keepalive_timeout. */
export const defaultIdleTimeoutMs = 60_000;

/**
 * OSIRIS_MAX_CONNECTIONS's default: half of this process's open-file limit,
 * at most 10,000. The other half is headroom for engine sockets (every Wait or
 * log follow holds one), log files, and the probe that evicts an idle
 * connection to get in.
 */
export function defaultMaxConnections(): number {
  return Math.min(10_000, Math.max(64, Math.floor(openFileLimit() / 2)));
}

/** The soft RLIMIT_NOFILE, from /proc on Linux; 1024, the usual soft limit, elsewhere. */
function openFileLimit(): number {
  try {
    const line = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return line ? Number(line[1]) : 1024;
  } catch {
    return 1024;
  }
}

export interface ConnectionLimits {
  /**
   * A connection with no request or stream in flight for this long is closed
   * (HTTP/2 with GOAWAY). A connection with streams in flight is pinged this
   * often instead, and closed when a PING goes unanswered for as long.
   */
  idleTimeoutMs: number;
  /**
   * Open connections allowed. One more makes room by closing the connection
   * idle the longest; with none idle, the newcomer is closed.
   */
  maxConnections: number;
}

/** Where contained faults and cap pressure are reported. */
export interface ConnectionLog {
  warn(fields: object, message: string): void;
}

/** After GOAWAY, how long an idle HTTP/2 session may take to close before its socket is destroyed. */
const goawayGraceMs = 1_000;

/** The cap warning is logged at most this often, so that a flood does not also flood the log. */
const capWarningIntervalMs = 60_000;

/** One TCP connection, from accept to close. */
class Connection {
  /** Requests (HTTP/1.1) or streams (HTTP/2) in flight. */
  inFlight = 0;
  session?: http2.ServerHttp2Session;
  /** The idle timeout while idle; the next keepalive PING, or its deadline, while busy. */
  timer?: NodeJS.Timeout;
  /** Closing was started: no longer counted against the cap. */
  closing = false;

  constructor(
    readonly key: string,
    readonly socket: net.Socket,
  ) {}
}

/**
 * Every connection the server accepted: for the idle timeout, the connection
 * cap and a bounded close. Like Envoy's idle_timeout and max-connections
 * overload action, and nginx's keepalive_timeout: an idle connection costs a
 * file descriptor and nothing else, so 20,000 clients that only sent the
 * HTTP/2 preface once filled the descriptor table and locked out /healthz.
 *
 * Requests and HTTP/2 sessions are matched to their connection by the peer's
 * address and port: unique among open TCP connections to one listener, and
 * the same on a raw socket, its TLS socket and an HTTP/2 session's socket
 * proxy (Node exposes no public link between the three).
 */
export class OpenConnections {
  private readonly byKey = new Map<string, Connection>();
  /** Idle connections, idle the longest first: a Set iterates in insertion order. */
  private readonly idle = new Set<Connection>();
  private counted = 0;
  private draining = false;
  private lastCapWarning = 0;

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly log?: ConnectionLog,
  ) {}

  /** Starts tracking an accepted connection; false when it was closed at once to respect the cap. */
  adopt(socket: net.Socket): boolean {
    const key = peerKey(socket);
    if (key === undefined || this.draining) {
      socket.destroy();
      return false;
    }
    // A last resort: the HTTP servers add their own handlers, but an error
    // between accept and hand-over must not reach the process.
    socket.on("error", () => socket.destroy());
    // HTTP/1.1 has no PING: TCP keepalive lets the kernel find a vanished
    // peer under a long answer (a log follow) that would otherwise never end.
    socket.setKeepAlive(true, this.limits.idleTimeoutMs);
    const connection = new Connection(key, socket);
    this.byKey.set(key, connection);
    this.counted += 1;
    socket.once("close", () => this.forget(connection));
    this.becameIdle(connection);
    if (this.counted > this.limits.maxConnections) this.makeRoomFor(connection);
    return !connection.closing;
  }

  /** Ties an HTTP/2 session to its connection: its streams make the connection busy. */
  attachSession(session: http2.ServerHttp2Session): void {
    const connection = this.connectionOf(session.socket);
    if (!connection) return;
    connection.session = session;
    session.on("stream", (stream: http2.ServerHttp2Stream) => {
      // Guarded: a throw in a session's event callback would end the process.
      try {
        stream.once("close", this.requestStarted(connection));
      } catch {
        stream.destroy();
      }
    });
  }

  /** Marks an HTTP/1.1 request in flight on `socket`'s connection; call the result once it has ended. */
  requestStartedOn(socket: net.Socket): () => void {
    const connection = this.connectionOf(socket);
    return connection ? this.requestStarted(connection) : () => undefined;
  }

  /**
   * Stops accepting, sends GOAWAY to every HTTP/2 session, closes idle
   * HTTP/1.1 connections now and busy ones when their answer is out, and
   * destroys whatever is still open after `graceMs`.
   */
  closeGracefully(graceMs: number): void {
    this.draining = true;
    for (const connection of this.byKey.values()) {
      if (connection.session) closeSession(connection.session);
      else if (connection.inFlight === 0) connection.socket.destroy();
    }
    setTimeout(() => this.destroyAll(), graceMs).unref();
  }

  destroyAll(): void {
    for (const connection of this.byKey.values()) {
      connection.session?.destroy();
      connection.socket.destroy();
    }
  }

  closeIdle(): void {
    for (const connection of [...this.idle]) this.close(connection);
  }

  private connectionOf(socket: net.Socket): Connection | undefined {
    const key = peerKey(socket);
    return key === undefined ? undefined : this.byKey.get(key);
  }

  private requestStarted(connection: Connection): () => void {
    connection.inFlight += 1;
    if (connection.inFlight === 1) this.becameBusy(connection);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      connection.inFlight -= 1;
      if (connection.inFlight === 0 && !connection.closing) this.becameIdle(connection);
    };
  }

  private becameIdle(connection: Connection): void {
    clearTimeout(connection.timer);
    if (this.draining) {
      this.close(connection);
      return;
    }
    this.idle.delete(connection);
    this.idle.add(connection);
    connection.timer = setTimeout(() => this.close(connection), this.limits.idleTimeoutMs).unref();
  }

  private becameBusy(connection: Connection): void {
    clearTimeout(connection.timer);
    this.idle.delete(connection);
    if (connection.session) this.scheduleKeepalive(connection);
  }

  /**
   * A session with streams in flight is not idle, but its peer may be gone
   * without a FIN (a cable pulled, a VM frozen); its streams would then hold
   * their resources forever. A PING it cannot answer tells.
   */
  private scheduleKeepalive(connection: Connection): void {
    clearTimeout(connection.timer);
    connection.timer = setTimeout(() => this.ping(connection), this.limits.idleTimeoutMs).unref();
  }

  private ping(connection: Connection): void {
    const session = connection.session;
    if (!session || session.destroyed || connection.inFlight === 0 || connection.closing) return;
    const deadline = setTimeout(() => session.destroy(), this.limits.idleTimeoutMs).unref();
    connection.timer = deadline;
    const answered = (error: Error | null) => {
      clearTimeout(deadline);
      if (error) session.destroy();
      else if (connection.inFlight > 0 && !connection.closing) this.scheduleKeepalive(connection);
    };
    try {
      if (!session.ping(answered)) answered(null);
    } catch {
      // The session closed between the check and the PING.
      clearTimeout(deadline);
    }
  }

  private makeRoomFor(newcomer: Connection): void {
    const [longestIdle] = this.idle;
    const victim = longestIdle !== undefined && longestIdle !== newcomer ? longestIdle : newcomer;
    this.close(victim);
    const now = Date.now();
    if (now - this.lastCapWarning >= capWarningIntervalMs) {
      this.lastCapWarning = now;
      this.log?.warn(
        { maxConnections: this.limits.maxConnections, closed: victim === newcomer ? "newcomer (none idle)" : "longest idle" },
        `connection cap reached (OSIRIS_MAX_CONNECTIONS=${this.limits.maxConnections}); closing connections to admit new ones`,
      );
    }
  }

  private close(connection: Connection): void {
    if (connection.closing) return;
    connection.closing = true;
    this.counted -= 1;
    this.idle.delete(connection);
    clearTimeout(connection.timer);
    if (connection.session && !connection.session.destroyed) {
      // GOAWAY tells the client that no stream was lost, so it reconnects for its next call.
      closeSession(connection.session);
      setTimeout(() => connection.socket.destroy(), goawayGraceMs).unref();
    } else if (this.draining) {
      // An answer may still be in the socket's buffer: FIN after it, rather than drop it.
      connection.socket.end();
    } else {
      connection.socket.destroy();
    }
  }

  private forget(connection: Connection): void {
    if (!connection.closing) this.counted -= 1;
    connection.closing = true;
    clearTimeout(connection.timer);
    this.idle.delete(connection);
    if (this.byKey.get(connection.key) === connection) this.byKey.delete(connection.key);
  }
}

function closeSession(session: http2.ServerHttp2Session): void {
  try {
    session.close();
  } catch {
    session.destroy();
  }
}

/** The peer's address and port, or undefined once the socket has lost them (closed before it was seen). */
function peerKey(socket: net.Socket): string | undefined {
  try {
    const { remoteAddress, remotePort } = socket;
    return remoteAddress === undefined || remotePort === undefined ? undefined : `${remoteAddress} ${remotePort}`;
  } catch {
    // An HTTP/2 session's socket proxy throws once the session has lost its socket.
    return undefined;
  }
}
