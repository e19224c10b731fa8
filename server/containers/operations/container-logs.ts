import type { Readable } from "node:stream";
import { abortReason } from "../engine/abortable.js";
import { engineCall, engineFailure } from "../engine/engine-call.js";
import { LogFrameDecoder, TimestampedLineSplitter, type LogFrame, type LogStreamName } from "../engine/log-frames.js";
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
 * Streams a container's logs from the engine. The engine connection lives
 * exactly as long as the returned iterator: it closes when the caller stops
 * reading, returns early or aborts its signal.
 */
export async function* containerLogs(target: EngineInScope, query: LogQuery, signal: AbortSignal): AsyncGenerator<LogChunk> {
  const { engine } = target;
  const inspect = await inspectInScope(target, query.container, signal);
  const tty = inspect.Config.Tty;
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
