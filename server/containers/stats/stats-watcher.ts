import { abortReason, waitUnlessAborted } from "../engine/abortable.js";
import type { StatsFigures } from "./stats-figures.js";

export type LeaveReason = "stopped" | "removed";

/** What a stats stream tells its caller: a sample of a container, or that the container left the stream. */
export type StatsUpdate =
  | { kind: "sample"; containerId: string; containerName: string; figures: StatsFigures }
  | { kind: "left"; containerId: string; containerName: string; reason: LeaveReason };

/** The hub as a watcher sees it: the feed of each container it watches is shared with every other watcher. */
export interface StatsFeeds {
  join(watcher: StatsWatcher, container: { id: string; name: string }): void;
  part(watcher: StatsWatcher, containerId: string): void;
}

/**
 * One caller's view of the containers it watches, with what it has not read
 * yet. What it has not read is at most one update per container: a newer
 * sample replaces an unread older one, and a leave replaces an unread sample.
 * So a caller that stops reading holds one sample per container it watches,
 * never more, however long it stalls; when it reads again it gets the newest.
 */
export class StatsWatcher {
  /** The containers watched now: id -> name. */
  private readonly members = new Map<string, string>();
  /** Unread updates by container id, oldest first. */
  private readonly unread = new Map<string, StatsUpdate>();
  private waiter: { resolve: (result: IteratorResult<StatsUpdate>) => void; reject: (error: unknown) => void } | undefined;
  private failure: { error: unknown } | undefined;
  private closed = false;
  /** Set once no container may join any more: the watch ends when the last member leaves. */
  private complete = false;

  constructor(private readonly feeds: StatsFeeds) {}

  get size(): number {
    return this.members.size;
  }

  has(containerId: string): boolean {
    return this.members.has(containerId);
  }

  /** Starts watching a container; a container already watched is left as it is. */
  add(container: { id: string; name: string }): void {
    if (this.closed || this.failure || this.members.has(container.id)) return;
    this.members.set(container.id, container.name);
    this.feeds.join(this, container);
  }

  /** Stops watching a container and tells the caller it left; nothing when it is not watched. */
  leave(containerId: string, reason: LeaveReason): void {
    const name = this.members.get(containerId);
    if (name === undefined) return;
    this.members.delete(containerId);
    this.feeds.part(this, containerId);
    this.deliver({ kind: "left", containerId, containerName: name, reason });
  }

  /** The container's feed ended (it stopped or was removed): the caller is told, the container is no longer watched. */
  feedEnded(containerId: string, reason: LeaveReason): void {
    const name = this.members.get(containerId);
    if (name === undefined) return;
    this.members.delete(containerId);
    this.deliver({ kind: "left", containerId, containerName: name, reason });
  }

  /** A sample from a container's feed; dropped when the container is no longer watched. */
  sample(containerId: string, figures: StatsFigures): void {
    const name = this.members.get(containerId);
    if (name === undefined) return;
    this.deliver({ kind: "sample", containerId, containerName: name, figures });
  }

  /** No more containers will be added: the watch ends once every member has left and the caller read it all. */
  noMoreJoins(): void {
    this.complete = true;
    this.wakeIfDone();
  }

  /** Ends the watch with `error`; what was not read is dropped. */
  fail(error: unknown): void {
    if (this.failure || this.closed) return;
    this.failure = { error };
    this.unread.clear();
    this.partAll();
    this.waiter?.reject(error);
    this.waiter = undefined;
  }

  /** The caller is gone: every feed it held is let go. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unread.clear();
    this.partAll();
    this.waiter?.resolve({ done: true, value: undefined });
    this.waiter = undefined;
  }

  next(signal: AbortSignal): Promise<IteratorResult<StatsUpdate>> {
    if (this.failure) return Promise.reject(this.failure.error);
    if (signal.aborted) return Promise.reject(abortReason(signal));
    const first = this.takeUnread();
    if (first) return Promise.resolve({ done: false, value: first });
    if (this.closed || this.isDone()) return Promise.resolve({ done: true, value: undefined });
    return waitUnlessAborted<IteratorResult<StatsUpdate>>(
      signal,
      (waiter) => (this.waiter = waiter),
      () => (this.waiter = undefined),
    );
  }

  private deliver(update: StatsUpdate): void {
    if (this.closed || this.failure) return;
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter.resolve({ done: false, value: update });
      return;
    }
    // Deleted first, so the container's place in line is that of its newest update.
    this.unread.delete(update.containerId);
    this.unread.set(update.containerId, update);
  }

  private takeUnread(): StatsUpdate | undefined {
    for (const [id, update] of this.unread) {
      this.unread.delete(id);
      return update;
    }
    return undefined;
  }

  private isDone(): boolean {
    return this.complete && this.members.size === 0 && this.unread.size === 0;
  }

  private wakeIfDone(): void {
    if (this.waiter && this.isDone()) {
      this.waiter.resolve({ done: true, value: undefined });
      this.waiter = undefined;
    }
  }

  private partAll(): void {
    for (const id of this.members.keys()) this.feeds.part(this, id);
    this.members.clear();
  }
}
