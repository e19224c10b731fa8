import type { Readable } from "node:stream";
import { abortReason } from "../engine/abortable.js";
import { engineCall, engineFailure } from "../engine/engine-call.js";
import { LogFrameDecoder, TimestampedLineSplitter, type LogFrame, type LogStreamName } from "../engine/log-frames.js";
import type { ContainerLogsQuery, EngineClient } from "../engine/engine-client.js";
import { comparableEngineTime, LogEntryParser, type LogEntry } from "../logs/log-entries.js";
import type { LiveBatch, LogHub } from "../logs/log-hub.js";
import { LogSeam } from "../logs/log-seam.js";
import { inspectInScope, type EngineInScope } from "./container-lookup.js";

export interface LogQuery {
  container: string;
  follow: boolean;
  /** Last lines of existing output; undefined for all. */
  tailLines?: number;
  /** Engine time strings: unix seconds with up to nine decimals. */
  since?: string;
  until?: string;
  timestamps: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface LogChunk {
  stream: LogStreamName;
  data: Buffer;
  /** RFC 3339 with nanoseconds; only when timestamps were asked for. */
  time?: string;
}

/**
 * Joins consecutive frames of the same stream that arrived together: the
 * engine frames every line, and one message per line would cost a message,
 * an encoding and a write each for nothing.
 */
function* sameStreamRuns(frames: LogFrame[]): Generator<LogFrame> {
  let start = 0;
  while (start < frames.length) {
    const stream = frames[start]!.stream;
    let end = start + 1;
    while (end < frames.length && frames[end]!.stream === stream) end++;
    yield {
      stream,
      data: end - start === 1 ? frames[start]!.data : Buffer.concat(frames.slice(start, end).map((frame) => frame.data)),
    };
    start = end;
  }
}

/**
 * Streams a container's logs. A read without follow is one engine request of
 * its own. Followers share one engine connection per container (LogHub): each
 * reads its history (tail, since) in a one-off request, then joins the shared
 * live stream where that history ends (LogSeam). Whatever engine connection
 * a call holds lives exactly as long as the returned iterator: it closes when
 * the caller stops reading, returns early or aborts its signal (the shared one
 * when its last follower goes).
 */
export async function* containerLogs(target: EngineInScope, hub: LogHub, query: LogQuery, signal: AbortSignal): AsyncGenerator<LogChunk> {
  const { engine } = target;
  const inspect = await inspectInScope(target, query.container, signal);
  const tty = inspect.Config.Tty;
  // The engine ends a follow of a container that is not running at once, after its output: a one-off read, as below.
  if (query.follow && inspect.State.Running) {
    yield* followLogs(engine, hub, { id: inspect.Id, tty: tty === true }, query, signal);
    return;
  }
  const operation = { kind: "logs-container", container: query.container } as const;
  const connection = new AbortController();
  const abort = AbortSignal.any([signal, connection.signal]);
  const engineQuery = {
    follow: query.follow,
    stdout: query.stdout,
    stderr: query.stderr,
    tail: query.tailLines === undefined ? ("all" as const) : query.tailLines,
    since: query.since,
    until: query.until,
    timestamps: query.timestamps,
  };
  const body: Readable = await engineCall(engine, operation, signal, () => engine.containerLogs(inspect.Id, engineQuery, abort));
  const frames = new LogFrameDecoder();
  const lines = { stdout: new TimestampedLineSplitter(), stderr: new TimestampedLineSplitter() };
  const chunksOf = function* (stream: LogStreamName, data: Buffer): Generator<LogChunk> {
    if (!query.timestamps) {
      yield { stream, data };
      return;
    }
    for (const line of lines[stream].push(data)) yield { stream, data: line.data, time: line.time };
  };
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (tty) yield* chunksOf("stdout", chunk);
      else for (const run of sameStreamRuns(frames.push(chunk))) yield* chunksOf(run.stream, run.data);
    }
    // An aborted engine request may end the body quietly; the caller's abort is no end of the logs.
    if (signal.aborted) throw abortReason(signal);
    for (const stream of ["stdout", "stderr"] as const) {
      for (const line of lines[stream].flush()) yield { stream, data: line.data, time: line.time };
    }
  } catch (error) {
    throw engineFailure(engine, operation, signal, error);
  } finally {
    // Whether we finished, failed or the caller left: no engine connection outlives the call.
    connection.abort();
    body.destroy();
  }
}

async function* followLogs(
  engine: EngineClient,
  hub: LogHub,
  container: { id: string; tty: boolean },
  query: LogQuery,
  signal: AbortSignal,
): AsyncGenerator<LogChunk> {
  // Joined before the history is asked for: every entry is then in one or the other (see LogSeam).
  const live = hub.join(container.id, container.tty);
  try {
    const seam = new LogSeam(query.since === undefined ? "" : comparableEngineTime(query.since));
    // No history wanted: the last entry still marks where the live part starts, and is not shown.
    const markerOnly = query.tailLines === 0;
    // Both streams, always: the engine counts tail over both, and the seam must see what the live part will carry.
    const history: ContainerLogsQuery = {
      follow: false,
      stdout: true,
      stderr: true,
      tail: markerOnly ? 1 : (query.tailLines ?? "all"),
      since: markerOnly ? undefined : query.since,
      timestamps: true,
    };
    for await (const entries of logEntries(engine, container, query.container, history, signal)) {
      for (const entry of entries) seam.record(entry);
      if (!markerOnly) yield* present(entries, query);
    }
    for (;;) {
      const next = await live.queue.next(signal);
      if (next.done) return;
      live.pulled();
      const batch = next.value;
      if (seam.settled) {
        yield* presentShared(batch, query);
        continue;
      }
      const admitted = batch.entries.filter((entry) => seam.admits(entry));
      yield* admitted.length === batch.entries.length ? presentShared(batch, query) : present(admitted, query);
    }
  } finally {
    live.leave();
  }
}

/** A one-off read of the engine's log entries, a batch per chunk the engine sent. */
async function* logEntries(
  engine: EngineClient,
  container: { id: string; tty: boolean },
  reference: string,
  query: ContainerLogsQuery,
  signal: AbortSignal,
): AsyncGenerator<LogEntry[]> {
  // Errors name the container as the caller did.
  const operation = { kind: "logs-container", container: reference } as const;
  const connection = new AbortController();
  const abort = AbortSignal.any([signal, connection.signal]);
  const body: Readable = await engineCall(engine, operation, signal, () => engine.containerLogs(container.id, query, abort));
  const parser = new LogEntryParser(container.tty);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const entries = parser.push(chunk);
      if (entries.length > 0) yield entries;
    }
    if (signal.aborted) throw abortReason(signal);
    const rest = parser.flush();
    if (rest.length > 0) yield rest;
  } catch (error) {
    throw engineFailure(engine, operation, signal, error);
  } finally {
    connection.abort();
    body.destroy();
  }
}

/**
 * Entries as this caller asked for them: its streams only; with timestamps,
 * a chunk per entry carrying its time; without, consecutive entries of one
 * stream joined into one chunk, as the engine's own stream would carry them.
 */
function present(entries: LogEntry[], query: LogQuery): LogChunk[] {
  const chunks: LogChunk[] = [];
  let run: LogEntry[] = [];
  const endRun = () => {
    if (run.length === 0) return;
    chunks.push({ stream: run[0]!.stream, data: run.length === 1 ? run[0]!.data : Buffer.concat(run.map((entry) => entry.data)) });
    run = [];
  };
  for (const entry of entries) {
    if (entry.stream === "stdout" ? !query.stdout : !query.stderr) continue;
    if (query.timestamps) {
      chunks.push({ stream: entry.stream, data: entry.data, time: entry.time === "" ? undefined : entry.time });
      continue;
    }
    if (run.length > 0 && run[0]!.stream !== entry.stream) endRun();
    run.push(entry);
  }
  endRun();
  return chunks;
}

/**
 * present() for a whole live batch, made once per way of asking and shared by
 * every follower asking that way: a hundred followers then cost one join and,
 * as the rpc layer caches a message per chunk, one message.
 */
function presentShared(batch: LiveBatch, query: LogQuery): LogChunk[] {
  const variant = (query.timestamps ? 4 : 0) + (query.stdout ? 2 : 0) + (query.stderr ? 1 : 0);
  batch.presented ??= new Map();
  let chunks = batch.presented.get(variant) as LogChunk[] | undefined;
  if (!chunks) {
    chunks = present(batch.entries, query);
    batch.presented.set(variant, chunks);
  }
  return chunks;
}
