import { LogFrameDecoder, TimestampedLineSplitter, type LogStreamName } from "../engine/log-frames.js";

/** One entry of a container's log, as the engine sends it with timestamps=true. */
export interface LogEntry {
  readonly stream: LogStreamName;
  /** The engine's RFC 3339 time with nanoseconds (see comparableTime); "" when the entry had none. */
  readonly time: string;
  /** The entry's bytes, its time taken off. */
  readonly data: Buffer;
}

/**
 * Parses a log body the engine sends with timestamps=true into entries.
 *
 * Without a TTY every engine entry is one frame (the engine writes each log
 * message through its own stdcopy write), and each frame starts with that
 * entry's time: entries are exact whatever the chunking, even the pieces the
 * engine cuts a line longer than 16 KB into (each a frame of its own, sharing
 * the line's time). A TTY stream has no frames, so entries are found by their
 * newlines (TimestampedLineSplitter).
 */
export class LogEntryParser {
  private readonly frames = new LogFrameDecoder();
  private readonly lines = new TimestampedLineSplitter();

  constructor(private readonly tty: boolean) {}

  push(chunk: Buffer): LogEntry[] {
    if (this.tty) return this.lines.push(chunk).map((line) => ({ stream: "stdout", time: line.time ?? "", data: line.data }));
    return this.frames.push(chunk).map((frame) => new FramedEntry(frame.stream, frame.data));
  }

  /** A TTY's last line, when its output did not end with a newline. */
  flush(): LogEntry[] {
    return this.tty ? this.lines.flush().map((line) => ({ stream: "stdout", time: line.time ?? "", data: line.data })) : [];
  }
}

/** A frame's entry; its time is read only if asked for, as most entries are only passed on. */
class FramedEntry implements LogEntry {
  readonly data: Buffer;
  private readonly timeEnd: number;
  private timeText: string | undefined;

  constructor(
    readonly stream: LogStreamName,
    private readonly frame: Buffer,
  ) {
    const space = frame.indexOf(32);
    this.timeEnd = space <= 0 || space > 40 ? 0 : space;
    this.data = this.timeEnd === 0 ? frame : frame.subarray(space + 1);
  }

  get time(): string {
    return (this.timeText ??= this.frame.toString("latin1", 0, this.timeEnd));
  }
}

const fixedUtc = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;
const anyRfc3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9})\d*)?(Z|[+-]\d\d:\d\d)$/;

/**
 * A time that orders as a string: UTC with exactly nine decimals. The engine
 * already writes that form (RFC3339NanoFixed, in UTC), which is returned as
 * it is; anything else is converted. An unparseable time is "".
 */
export function comparableTime(time: string): string {
  if (time.length === 30 && fixedUtc.test(time)) return time;
  const match = anyRfc3339.exec(time);
  if (!match) return "";
  const [, wholeSeconds = "", fraction = "", zone = "Z"] = match;
  const millis = Date.parse(`${wholeSeconds}${zone}`);
  if (Number.isNaN(millis)) return "";
  return `${new Date(millis).toISOString().slice(0, 19)}.${fraction.padEnd(9, "0")}Z`;
}

/** The engine's `since` (unix seconds with up to nine decimals) as a comparableTime. */
export function comparableEngineTime(engineTime: string): string {
  const [seconds = "0", fraction = ""] = engineTime.split(".");
  const millis = Number(seconds) * 1000;
  // Past what a Date holds: later than any entry, which "~" (after every digit) orders as.
  if (!Number.isFinite(millis) || millis > 8.64e15) return "~";
  return `${new Date(millis).toISOString().slice(0, 19)}.${fraction.padEnd(9, "0").slice(0, 9)}Z`;
}
