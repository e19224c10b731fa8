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

/** A line longer than this is sent in pieces rather than held until its newline. */
export const maxTimestampedLineBytes = 64 * 1024;

export interface TimestampedLine {
  time: string | undefined;
  data: Buffer;
}

/**
 * With timestamps, the engine starts every line with an RFC 3339 time and a
 * space. Splits a chunk into lines and takes each line's time off its front.
 * A line cut at the end of the chunk is carried over to the next one.
 *
 * Only new bytes are scanned and each byte is copied at most twice, so output
 * without newlines costs linear time. Such output (`head -c 200M /dev/zero`)
 * is still one line to the engine, which stamps each 16 KB piece of it
 * without adding a newline: once the carried-over part passes
 * `maxTimestampedLineBytes`, it is sent as a piece, and every piece of that
 * line carries the time of the line's first entry.
 */
export class TimestampedLineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Set while a long line is being sent in pieces: the time of its first piece. */
  private longLine: { time: string | undefined } | undefined;

  push(chunk: Buffer): TimestampedLine[] {
    const lines: TimestampedLine[] = [];
    let start = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      lines.push(this.take(chunk.subarray(start, newline + 1)));
      this.longLine = undefined;
      start = newline + 1;
    }
    if (start < chunk.length) {
      // Copied: a view would keep the caller's whole chunk alive for a few bytes.
      this.pending.push(Buffer.from(chunk.subarray(start)));
      this.pendingBytes += chunk.length - start;
      if (this.pendingBytes > maxTimestampedLineBytes) {
        const piece = this.take(Buffer.alloc(0));
        this.longLine ??= { time: piece.time };
        lines.push(piece);
      }
    }
    return lines;
  }

  /** The last line, when the output did not end with a newline. */
  flush(): TimestampedLine[] {
    const rest = this.pendingBytes === 0 ? [] : [this.take(Buffer.alloc(0))];
    this.longLine = undefined;
    return rest;
  }

  /** The carried-over bytes followed by `tail`, as one line or piece of a line. */
  private take(tail: Buffer): TimestampedLine {
    const bytes = this.pending.length === 0 ? tail : Buffer.concat([...this.pending, tail]);
    this.pending = [];
    this.pendingBytes = 0;
    return this.longLine ? { time: this.longLine.time, data: bytes } : splitTime(bytes);
  }
}

function splitTime(line: Buffer): TimestampedLine {
  const space = line.indexOf(32);
  if (space <= 0 || space > 40) return { time: undefined, data: line };
  return { time: line.subarray(0, space).toString("latin1"), data: line.subarray(space + 1) };
}
