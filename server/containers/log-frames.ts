export type LogStreamName = "stdout" | "stderr";

export interface LogFrame {
  stream: LogStreamName;
  data: Buffer;
}

const headerLength = 8;

/**
 * Splits the engine's multiplexed log stream (non-TTY containers) into
 * frames. Each frame starts with an 8-byte header: the stream (1 stdout,
 * 2 stderr), three zero bytes, and the payload length as a big-endian uint32.
 * Chunks from the socket may cut a header or a payload anywhere.
 */
export class LogFrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): LogFrame[] {
    // Only a frame cut by a chunk boundary pays for a copy.
    const bytes = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: LogFrame[] = [];
    let offset = 0;
    while (bytes.length - offset >= headerLength) {
      const size = bytes.readUInt32BE(offset + 4);
      if (bytes.length - offset - headerLength < size) break;
      const streamByte = bytes[offset];
      const start = offset + headerLength;
      frames.push({ stream: streamByte === 2 ? "stderr" : "stdout", data: bytes.subarray(start, start + size) });
      offset = start + size;
    }
    this.pending = offset === bytes.length ? Buffer.alloc(0) : Buffer.from(bytes.subarray(offset));
    return frames;
  }

  /** Bytes of an incomplete frame left when the stream ended. */
  get leftover(): number {
    return this.pending.length;
  }
}

/**
 * With timestamps, the engine starts every line with an RFC 3339 time and a
 * space. Splits a chunk into lines and takes each line's time off its front.
 * A line cut at the end of the chunk is carried over to the next one.
 */
export class TimestampedLineSplitter {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): { time: string | undefined; data: Buffer }[] {
    const bytes = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const lines: { time: string | undefined; data: Buffer }[] = [];
    let start = 0;
    for (let newline = bytes.indexOf(10, start); newline !== -1; newline = bytes.indexOf(10, start)) {
      lines.push(splitTime(bytes.subarray(start, newline + 1)));
      start = newline + 1;
    }
    this.pending = Buffer.from(bytes.subarray(start));
    return lines;
  }

  /** The last line, when the output did not end with a newline. */
  flush(): { time: string | undefined; data: Buffer }[] {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return rest.length === 0 ? [] : [splitTime(rest)];
  }
}

function splitTime(line: Buffer): { time: string | undefined; data: Buffer } {
  const space = line.indexOf(32);
  if (space <= 0 || space > 40) return { time: undefined, data: line };
  return { time: line.subarray(0, space).toString("latin1"), data: line.subarray(space + 1) };
}
