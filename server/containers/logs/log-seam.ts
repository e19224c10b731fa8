import { comparableTime, type LogEntry } from "./log-entries.js";

/** History entries the seam keeps (references only; keys are made when the live part starts). */
const seamWindowEntries = 256;
/** Live entries after the history's last time during which reordered entries are still checked. */
const seamSettleEntries = 256;

/**
 * Joins a follower's history (a one-off, non-follow engine read) to the live
 * entries of the shared follow connection, without a gap or a duplicate.
 *
 * Why there is no gap: the follower is registered for live entries before its
 * history read is sent, so every entry is logged either before that read (and
 * is in it) or after the follower was registered (and is in its live queue).
 * Entries in both, the overlap, are dropped here, by their engine times:
 *
 * - the history's last `seamWindowEntries` entries are kept as keys: time,
 *   stream, length and first bytes, counted, since an entry cut into pieces
 *   repeats its time;
 * - a live entry older than all of those is in the history: dropped;
 * - one no newer than the history's last time is dropped if it matches a kept
 *   key (each key once), and kept otherwise: the engine stamps stdout and
 *   stderr in two goroutines, so an entry stamped a little earlier may be
 *   written a little later and missed by the history read (the window is the
 *   reordering tolerated: far more than two goroutines' race);
 * - a newer one is new. Once the keys are used up, or `seamSettleEntries`
 *   newer entries went by, the seam is passed and live entries go through
 *   unchecked.
 *
 * A follower that asked for no history (tail 0) still reads the last entry,
 * as a marker of where the live part starts, and does not show it. An empty
 * history means the log was empty (or held nothing after `since`) when it was
 * read: every live entry is new then.
 */
export class LogSeam {
  /** The history's last entries, as a ring: recording one costs no allocation, however long the history. */
  private readonly ring: LogEntry[] = [];
  private recorded = 0;
  /** Made from the ring when the first live entry comes: key -> how often it occurs. */
  private counts: Map<string, number> | undefined;
  private oldest = "";
  private latest = "";
  private settleLeft = seamSettleEntries;
  private passed = false;
  /** True once live entries are past `since`, or when there is none. */
  private sinceMet: boolean;

  /** `since`: a comparableTime live entries must not be older than; "" for none. */
  constructor(private readonly since: string) {
    this.sinceMet = since === "";
  }

  /** True once every live entry is new: the seam is passed and `since` is behind. */
  get settled(): boolean {
    return this.passed && this.sinceMet;
  }

  /** Notes an entry of the history, in the order the engine sent them. */
  record(entry: LogEntry): void {
    this.ring[this.recorded++ % seamWindowEntries] = entry;
  }

  /** Whether a live entry is new to this follower. */
  admits(entry: LogEntry): boolean {
    if (this.passed && this.sinceMet) return true;
    const time = comparableTime(entry.time);
    if (!this.sinceMet && time !== "") {
      if (time < this.since) return false;
      // Entries come in time order, give or take the race the window allows for.
      if (this.passed) this.sinceMet = true;
    }
    if (this.passed || time === "") return true;
    const counts = (this.counts ??= this.keys());
    if (counts.size === 0) {
      this.pass();
      return true;
    }
    if (time < this.oldest) return false;
    if (time > this.latest) {
      if (--this.settleLeft <= 0) this.pass();
      return true;
    }
    const key = entryKey(time, entry);
    const left = counts.get(key);
    if (left === undefined) return true;
    if (left > 1) counts.set(key, left - 1);
    else counts.delete(key);
    if (counts.size === 0) this.pass();
    return false;
  }

  /** The window's keys, and its oldest and latest times; the ring is let go. */
  private keys(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const entry of this.ring) {
      const time = comparableTime(entry.time);
      if (time === "") continue;
      if (this.oldest === "" || time < this.oldest) this.oldest = time;
      if (time > this.latest) this.latest = time;
      const key = entryKey(time, entry);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    this.ring.length = 0;
    return counts;
  }

  private pass(): void {
    this.passed = true;
    this.counts?.clear();
    this.ring.length = 0;
  }
}

function entryKey(time: string, entry: LogEntry): string {
  return `${time} ${entry.stream} ${entry.data.length} ${entry.data.subarray(0, 32).toString("latin1")}`;
}
