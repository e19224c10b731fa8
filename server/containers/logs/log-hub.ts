import type { Readable } from "node:stream";
import { AsyncQueue } from "../events/async-queue.js";
import { engineCall, engineFailure } from "../engine/engine-call.js";
import type { EngineClient } from "../engine/engine-client.js";
import { LogFollowerTooSlowError } from "../errors.js";
import { LogEntryParser, type LogEntry } from "./log-entries.js";

export interface LogHubOptions {
  /** Batches of live entries (one per chunk the engine sent) a follower may fall behind before it is dropped. */
  maxBacklogBatches: number;
  /** Bytes of live entries a follower may fall behind before it is dropped. */
  maxBacklogBytes: number;
  /**
   * The shared connection stops reading while every follower is this many
   * bytes behind, so that the engine goes at the pace of the fastest follower:
   * a burst then drops only the followers slower than the fastest, never all.
   */
  paceBacklogBytes: number;
  /**
   * The shared connection asks for the last `replayEntries` entries logged
   * since this long before it opened, rather than for none of the past: an
   * engine that places its follow reader a moment after answering (20.10 does
   * it in a goroutine, after the follower's history read, at worst) then
   * still misses nothing. What it replays, the followers' seams drop. Asking
   * with `tail` keeps that cheap: `since` alone makes the engine scan the
   * container's whole log file.
   */
  sinceMarginMs: number;
  replayEntries: number;
}

export const defaultLogHubOptions: LogHubOptions = {
  maxBacklogBatches: 10_000,
  maxBacklogBytes: 16 * 1024 * 1024,
  paceBacklogBytes: 1024 * 1024,
  sinceMarginMs: 100,
  replayEntries: 1000,
};

/** Entries that arrived in one chunk of a shared connection; every follower gets the same object. */
export interface LiveBatch {
  entries: LogEntry[];
  /** The entries' bytes, about, as a follower's backlog counts them. */
  bytes: number;
  /** What this batch looks like to followers asking for the same things, made once for all of them (see presentShared). */
  presented?: Map<number, unknown>;
}

/** A follower's place on a container's shared connection. */
export interface LiveSubscription {
  /** Live batches, from the moment of joining; ends when the container's output does, fails when the engine does or the follower falls behind. */
  queue: AsyncQueue<LiveBatch>;
  /** To be called after each batch taken from the queue: a paused connection may go on. */
  pulled(): void;
  /** Idempotent; the last follower to leave closes the engine connection. */
  leave(): void;
}

interface Upstream {
  containerId: string;
  followers: Set<AsyncQueue<LiveBatch>>;
  connection: AbortController;
  /** Set while reading waits for a follower to catch up (see paceBacklogBytes). */
  resume?: () => void;
}

const batchOverheadBytes = 64;
const entryOverheadBytes = 64;

/**
 * One engine `follow` connection per followed container, shared by all its
 * followers, as EventHub shares one /events subscription. The connection
 * opens with the first follower and closes when the last leaves or the
 * container's output ends (which ends every follower). It always asks for both
 * streams with timestamps, so that any follower can be served from it: each
 * formats and filters for itself (see container-logs.ts), and joins its own
 * history to it (see LogSeam).
 *
 * The hub never waits for one follower: each has a bounded backlog, and one
 * that falls behind it is dropped with LogFollowerTooSlowError
 * (RESOURCE_EXHAUSTED, as a slow event watcher is) while the others go on.
 * It reads the engine only as fast as the fastest follower takes, though
 * (paceBacklogBytes), as one `docker logs -f` would.
 */
export class LogHub {
  private readonly upstreams = new Map<string, Upstream>();
  /** Engine follow connections opened so far; /metrics reads it. */
  connections = 0;

  constructor(
    private readonly engine: EngineClient,
    private readonly options: LogHubOptions = defaultLogHubOptions,
  ) {}

  /** Engine follow connections open (or opening) now: one per followed container. */
  get upstreamCount(): number {
    return this.upstreams.size;
  }

  get followerCount(): number {
    let count = 0;
    for (const upstream of this.upstreams.values()) count += upstream.followers.size;
    return count;
  }

  /** Follows a container's live output, opening the shared connection when this is its first follower. */
  join(containerId: string, tty: boolean): LiveSubscription {
    let upstream = this.upstreams.get(containerId);
    if (!upstream) {
      const opened: Upstream = { containerId, followers: new Set(), connection: new AbortController() };
      this.upstreams.set(containerId, opened);
      upstream = opened;
      void this.read(opened, tty);
    }
    const queue = new AsyncQueue<LiveBatch>({
      maxItems: this.options.maxBacklogBatches,
      maxBytes: this.options.maxBacklogBytes,
      sizeOf: (batch) => batch.bytes,
    });
    const joined = upstream;
    this.add(joined, queue);
    // A newcomer is behind no one: a connection paused for followers that stopped reading goes on, and drops them in time.
    if (joined.resume) this.wake(joined);
    return {
      queue,
      pulled: () => {
        if (joined.resume && queue.bytes <= this.options.paceBacklogBytes) this.wake(joined);
      },
      leave: () => {
        if (this.remove(joined, queue) && joined.followers.size === 0) this.close(joined);
      },
    };
  }

  private add(upstream: Upstream, queue: AsyncQueue<LiveBatch>): void {
    upstream.followers.add(queue);
  }

  private remove(upstream: Upstream, queue: AsyncQueue<LiveBatch>): boolean {
    if (!upstream.followers.delete(queue)) return false;
    if (upstream.resume && !this.everyoneBehind(upstream)) this.wake(upstream);
    return true;
  }

  private everyoneBehind(upstream: Upstream): boolean {
    if (upstream.followers.size === 0) return false;
    for (const queue of upstream.followers) if (queue.bytes <= this.options.paceBacklogBytes) return false;
    return true;
  }

  private wake(upstream: Upstream): void {
    const resume = upstream.resume;
    upstream.resume = undefined;
    resume?.();
  }

  /** Until a follower has caught up, one leaves, or the connection closes; the engine's connection waits meanwhile. */
  private caughtUp(upstream: Upstream): Promise<void> {
    return new Promise((resolve) => {
      const signal = upstream.connection.signal;
      if (signal.aborted) return resolve();
      const done = () => {
        signal.removeEventListener("abort", done);
        resolve();
      };
      upstream.resume = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }

  private close(upstream: Upstream): void {
    upstream.connection.abort();
    if (this.upstreams.get(upstream.containerId) !== upstream) return;
    this.upstreams.delete(upstream.containerId);
  }

  /** Reads the shared connection until the output ends, the engine fails, or the last follower leaves. */
  private async read(upstream: Upstream, tty: boolean): Promise<void> {
    const { engine } = this;
    const signal = upstream.connection.signal;
    const operation = { kind: "logs-container", container: upstream.containerId } as const;
    let body: Readable | undefined;
    try {
      const query = {
        follow: true,
        stdout: true,
        stderr: true,
        tail: this.options.replayEntries,
        since: engineTime(Date.now() - this.options.sinceMarginMs),
        timestamps: true,
      };
      body = await engineCall(engine, operation, signal, () => engine.containerLogs(upstream.containerId, query, signal));
      this.connections++;
      const parser = new LogEntryParser(tty);
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (signal.aborted) return;
        this.deliver(upstream, parser.push(chunk));
        if (this.everyoneBehind(upstream)) await this.caughtUp(upstream);
      }
      if (signal.aborted) return;
      this.deliver(upstream, parser.flush());
      this.finish(upstream);
    } catch (error) {
      if (signal.aborted) return;
      this.finish(upstream, engineFailure(engine, operation, signal, error));
    } finally {
      body?.destroy();
    }
  }

  private deliver(upstream: Upstream, entries: LogEntry[]): void {
    if (entries.length === 0) return;
    let bytes = batchOverheadBytes;
    for (const entry of entries) bytes += entry.data.length + entryOverheadBytes;
    const batch: LiveBatch = { entries, bytes };
    for (const queue of upstream.followers) {
      if (!queue.push(batch)) {
        queue.fail(new LogFollowerTooSlowError(this.options.maxBacklogBytes));
        this.remove(upstream, queue);
      }
    }
    if (upstream.followers.size === 0) this.close(upstream);
  }

  /** The output ended (the container stopped) or the engine failed: every follower ends, after what it has not read yet. */
  private finish(upstream: Upstream, error?: Error): void {
    this.close(upstream);
    for (const queue of upstream.followers) {
      if (error) queue.fail(error);
      else queue.end();
      this.remove(upstream, queue);
    }
  }
}

/** The engine reads `since` as unix seconds with a fraction. */
function engineTime(ms: number): string {
  return (ms / 1000).toFixed(3);
}
