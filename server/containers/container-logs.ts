import type { Readable } from "node:stream";
import { abortReason } from "./abortable.js";
import type { ContainerService } from "./container-service.js";
import type { Engine } from "./engine.js";
import { translateEngineError } from "./engine-errors.js";
import { streamFromEngine } from "./engine-request.js";
import { LogFrameDecoder, TimestampedLineSplitter, type LogFrame, type LogStreamName } from "./log-frames.js";

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
export async function* containerLogs(
  engine: Engine,
  containers: ContainerService,
  query: LogQuery,
  signal: AbortSignal,
): AsyncGenerator<LogChunk> {
  const inspect = await containers.inspectInScope(query.container, signal);
  const tty = inspect.Config.Tty;
  const connection = new AbortController();
  const abort = AbortSignal.any([signal, connection.signal]);
  let body: Readable;
  try {
    body = await streamFromEngine(engine, {
      method: "GET",
      path: `/containers/${inspect.Id}/logs?`,
      query: {
        follow: query.follow,
        stdout: query.stdout,
        stderr: query.stderr,
        tail: query.tailLines === undefined ? "all" : query.tailLines,
        since: query.since,
        until: query.until,
        timestamps: query.timestamps,
      },
      okStatuses: [200],
      abortSignal: abort,
    });
  } catch (error) {
    if (signal.aborted) throw abortReason(signal);
    throw translateEngineError(error, { kind: "logs-container", container: query.container }, engine.endpoint);
  }
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
    if (signal.aborted) throw abortReason(signal);
    throw translateEngineError(error, { kind: "logs-container", container: query.container }, engine.endpoint);
  } finally {
    // Whether we finished, failed or the caller left: no engine connection outlives the call.
    connection.abort();
    body.destroy();
  }
}
