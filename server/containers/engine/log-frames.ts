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
 * Chunks from the socket may cut a header or a payload anywhere; only a frame
 * cut that way is copied, the others are views of the chunk.
 */
export class LogFrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): LogFrame[] {
    const frames: LogFrame[] = [];
    let offset = 0;
    // Finish a frame cut by the previous chunk, copying only that frame's bytes.
    while (this.pending.length > 0 && offset < chunk.length) {
      const wanted = this.pending.length < headerLength ? headerLength : headerLength + this.pending.readUInt32BE(4);
      const taken = Math.min(wanted - this.pending.length, chunk.length - offset);
      this.pending = Buffer.concat([this.pending, chunk.subarray(offset, offset + taken)]);
      offset += taken;
      if (this.pending.length >= headerLength && this.pending.length === headerLength + this.pending.readUInt32BE(4)) {
        frames.push({ stream: this.pending[0] === 2 ? "stderr" : "stdout", data: this.pending.subarray(headerLength) });
        this.pending = Buffer.alloc(0);
      }
    }
    while (chunk.length - offset >= headerLength) {
      const size = chunk.readUInt32BE(offset + 4);
      if (chunk.length - offset - headerLength < size) break;
      const start = offset + headerLength;
      frames.push({ stream: chunk[offset] === 2 ? "stderr" : "stdout", data: chunk.subarray(start, start + size) });
      offset = start + size;
    }
    if (offset < chunk.length) this.pending = Buffer.from(chunk.subarray(offset));
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
