// The lines of the log viewer, kept in time order across several containers.
// Free of DOM code: the unit tests use it as the page does.

export interface LogLine {
  /** Seconds since the epoch, and nanoseconds within it: the engine's time for the line. */
  seconds: number;
  nanos: number;
  /** Index of the container in the viewer's source list. */
  source: number;
  stderr: boolean;
  text: string;
  /** Arrival order, which breaks ties in time. */
  sequence: number;
}

function before(a: LogLine, b: LogLine): boolean {
  if (a.seconds !== b.seconds) return a.seconds < b.seconds;
  if (a.nanos !== b.nanos) return a.nanos < b.nanos;
  return a.sequence < b.sequence;
}

function compare(a: LogLine, b: LogLine): number {
  return a.seconds - b.seconds || a.nanos - b.nanos || a.sequence - b.sequence;
}

/**
 * Lines arrive in time order from each container but interleaved between
 * them. A batch (everything since the last frame) that only extends the end
 * is appended; one that reaches back is merged, which is a linear pass over
 * the lines from the earliest new one, not a sort of all of them.
 */
export class LogStore {
  lines: LogLine[] = [];
  private sequence = 0;

  add(batch: Omit<LogLine, "sequence">[]): void {
    if (batch.length === 0) return;
    const incoming = batch.map((line) => ({ ...line, sequence: this.sequence++ })).sort(compare);
    const last = this.lines[this.lines.length - 1];
    if (last === undefined || !before(incoming[0]!, last)) {
      for (const line of incoming) this.lines.push(line);
      return;
    }
    // Binary search for the first stored line after the earliest incoming one.
    let low = 0;
    let high = this.lines.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (before(incoming[0]!, this.lines[middle]!)) high = middle;
      else low = middle + 1;
    }
    const tail = this.lines.splice(low);
    const merged: LogLine[] = [];
    let i = 0;
    let j = 0;
    while (i < tail.length && j < incoming.length) merged.push(before(incoming[j]!, tail[i]!) ? incoming[j++]! : tail[i++]!);
    while (i < tail.length) merged.push(tail[i++]!);
    while (j < incoming.length) merged.push(incoming[j++]!);
    for (const line of merged) this.lines.push(line);
  }

  clear(): void {
    this.lines = [];
  }

  /** Indexes of the lines containing `needle`, case-insensitive. */
  search(needle: string): number[] {
    if (needle === "") return [];
    const lower = needle.toLowerCase();
    const found: number[] = [];
    for (let index = 0; index < this.lines.length; index++) {
      if (this.lines[index]!.text.toLowerCase().includes(lower)) found.push(index);
    }
    return found;
  }
}

/** `text` cut around each case-insensitive occurrence of `needle`: [plain, match, plain, match, ..., plain]. */
export function splitAround(text: string, needle: string): string[] {
  if (needle === "") return [text];
  const parts: string[] = [];
  const lower = text.toLowerCase();
  const target = needle.toLowerCase();
  let from = 0;
  for (let at = lower.indexOf(target); at !== -1; at = lower.indexOf(target, from)) {
    parts.push(text.slice(from, at), text.slice(at, at + needle.length));
    from = at + needle.length;
  }
  parts.push(text.slice(from));
  return parts;
}

/**
 * Splits a chunk of log output into lines, keeping an unfinished last line
 * for the next chunk. With timestamps requested the engine sends one line per
 * message, so this mostly just drops the newline.
 */
export class LineSplitter {
  private pending = "";

  push(text: string): string[] {
    const parts = (this.pending + text).split("\n");
    this.pending = parts.pop() ?? "";
    return parts.map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line));
  }

  flush(): string[] {
    const rest = this.pending;
    this.pending = "";
    return rest === "" ? [] : [rest];
  }
}
