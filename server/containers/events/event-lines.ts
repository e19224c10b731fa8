/**
 * The engine's event stream is one JSON object a line. Each event carries the
 * container's labels, and Osiris's own containers have at most 64 KiB of them
 * (RunDockerContainerRequest.labels), so their event lines stay far below this.
 */
export const maxEventLineBytes = 1024 * 1024;

/**
 * Splits the event stream into lines, scanning only new bytes. A line over
 * `maxEventLineBytes` is skipped without a word: it can only be about a
 * container made outside Osiris with huge labels, and treating it as a stream
 * fault would not help, because reconnecting replays the same line and would
 * end every watcher's stream. Skipping bounds what is held to one line.
 */
export class EventLineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private skipping = false;
  /** Lines dropped for their length, so a reader that must not miss an event knows one went by. */
  skipped = 0;

  constructor(private readonly maxLineBytes = maxEventLineBytes) {}

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      const tail = chunk.subarray(start, newline);
      if (!this.skipping && this.pendingBytes + tail.length <= this.maxLineBytes) {
        // Decoded whole, so a character cut between chunks comes out intact.
        lines.push((this.pending.length === 0 ? tail : Buffer.concat([...this.pending, tail])).toString("utf8"));
      } else if (!this.skipping) {
        this.skipped++;
      }
      this.pending = [];
      this.pendingBytes = 0;
      this.skipping = false;
      start = newline + 1;
    }
    if (start < chunk.length && !this.skipping) {
      this.pendingBytes += chunk.length - start;
      if (this.pendingBytes > this.maxLineBytes) {
        this.skipping = true;
        this.skipped++;
        this.pending = [];
        this.pendingBytes = 0;
      } else {
        this.pending.push(chunk.subarray(start));
      }
    }
    return lines;
  }
}
