import type { Readable } from "node:stream";
import { abortable } from "../engine/abortable.js";
import { engineCall, engineFailure } from "../engine/engine-call.js";
import type { EngineClient } from "../engine/engine-client.js";
import { ContainerNotFoundError, EngineUnavailableError } from "../errors.js";
import { inspectContainer } from "../operations/container-lookup.js";
import { cpuCounters, isRunningSample, statsFigures, type CpuCounters, type StatsFigures } from "./stats-figures.js";
import { statsSamples } from "./stats-samples.js";
import type { LeaveReason, StatsFeeds, StatsWatcher } from "./stats-watcher.js";

/** One engine stats stream, shared by every watcher of its container. */
interface Feed {
  id: string;
  name: string;
  watchers: Set<StatsWatcher>;
  upstream: AbortController;
  previous?: CpuCounters;
  latest?: { figures: StatsFigures; receivedAt: number };
  /** Keeps the feed open without watchers until it fires; see keepWarm. */
  warmTimer?: NodeJS.Timeout;
  /** Callers of nextSample: told the next sample with a CPU %, or undefined when the feed ends first. */
  waiting: Set<(figures: StatsFigures | undefined) => void>;
}

/**
 * Holds one engine stats stream per container however many callers watch it:
 * opened when the first watcher joins, closed when the last one parts, or
 * when the container stops or is removed (every watcher is then told). A
 * watcher that joins an open feed gets its latest sample at once. A feed
 * kept warm for one-shot callers (keepWarm) stays open that long after its
 * last watcher, and no longer.
 */
export class StatsHub implements StatsFeeds {
  private readonly feeds = new Map<string, Feed>();
  /** Engine stats streams opened since the start; what tests and /metrics read. */
  connections = 0;

  constructor(private readonly engine: EngineClient) {}

  /** Engine stats streams open (or being opened) now: one per container watched. */
  get openStreams(): number {
    return this.feeds.size;
  }

  /** Watchers summed over every feed: a caller watching three containers counts three times. */
  get watcherCount(): number {
    let count = 0;
    for (const feed of this.feeds.values()) count += feed.watchers.size;
    return count;
  }

  join(watcher: StatsWatcher, container: { id: string; name: string }): void {
    const feed = this.feedOf(container);
    feed.watchers.add(watcher);
    if (feed.latest) watcher.sample(feed.id, feed.latest.figures);
  }

  part(watcher: StatsWatcher, containerId: string): void {
    const feed = this.feeds.get(containerId);
    if (!feed || !feed.watchers.delete(watcher) || feed.watchers.size > 0 || feed.warmTimer) return;
    this.close(feed);
  }

  /**
   * Keeps (or opens) the container's feed for `ms` more, watchers or not, so
   * that a caller polling with one-shot calls gets each answer from it at once.
   */
  keepWarm(container: { id: string; name: string }, ms: number): void {
    const feed = this.feedOf(container);
    clearTimeout(feed.warmTimer);
    feed.warmTimer = setTimeout(() => {
      feed.warmTimer = undefined;
      if (feed.watchers.size === 0) this.close(feed);
    }, ms);
    // A warm feed alone does not keep the process alive.
    feed.warmTimer.unref();
  }

  /** Whether the container's engine stream is open (watched, or kept warm). */
  isOpen(containerId: string): boolean {
    return this.feeds.has(containerId);
  }

  /**
   * The next sample with a CPU % of the container's open feed; undefined at
   * once when no feed is open, or when the feed ends first. Rejects when
   * `signal` aborts.
   */
  nextSample(containerId: string, signal: AbortSignal): Promise<StatsFigures | undefined> {
    const feed = this.feeds.get(containerId);
    if (!feed) return Promise.resolve(undefined);
    let resolve!: (figures: StatsFigures | undefined) => void;
    const next = new Promise<StatsFigures | undefined>((settle) => (resolve = settle));
    feed.waiting.add(resolve);
    return abortable(next, signal).finally(() => feed.waiting.delete(resolve));
  }

  /** Closes every feed, for a server that is shutting down; watchers are ended by their own calls. */
  closeAll(): void {
    for (const feed of [...this.feeds.values()]) this.close(feed);
  }

  /** The newest sample of an open feed, if it has a CPU % and is at most `maxAgeMs` old. */
  recentSample(containerId: string, maxAgeMs: number): StatsFigures | undefined {
    const latest = this.feeds.get(containerId)?.latest;
    if (!latest || latest.figures.cpuPercent === undefined || performance.now() - latest.receivedAt > maxAgeMs) return undefined;
    return latest.figures;
  }

  private feedOf(container: { id: string; name: string }): Feed {
    let feed = this.feeds.get(container.id);
    if (!feed) {
      feed = { id: container.id, name: container.name, watchers: new Set(), upstream: new AbortController(), waiting: new Set() };
      this.feeds.set(container.id, feed);
      void this.follow(feed);
    }
    return feed;
  }

  private close(feed: Feed): void {
    if (this.feeds.get(feed.id) === feed) this.feeds.delete(feed.id);
    clearTimeout(feed.warmTimer);
    feed.warmTimer = undefined;
    feed.upstream.abort();
    this.wake(feed, undefined);
  }

  private wake(feed: Feed, figures: StatsFigures | undefined): void {
    const waiting = [...feed.waiting];
    feed.waiting.clear();
    for (const resolve of waiting) resolve(figures);
  }

  /** Reads the engine's samples until the feed closes, then tells every watcher why it ended. */
  private async follow(feed: Feed): Promise<void> {
    const signal = feed.upstream.signal;
    const operation = { kind: "stats-container", container: feed.name || feed.id } as const;
    let body: Readable | undefined;
    try {
      body = await engineCall(this.engine, operation, signal, () =>
        this.engine.containerStats(feed.id, { stream: true, oneShot: false }, signal),
      );
      this.connections++;
      for await (const sample of statsSamples(body)) {
        if (signal.aborted) return;
        if (!isRunningSample(sample)) return this.end(feed, "stopped");
        // Compared with the feed's own previous sample: the engine's precpu_stats is the same, except on its first.
        const figures = statsFigures(sample, feed.previous);
        feed.previous = cpuCounters(sample.cpu_stats);
        feed.latest = { figures, receivedAt: performance.now() };
        if (figures.cpuPercent !== undefined) this.wake(feed, figures);
        for (const watcher of feed.watchers) watcher.sample(feed.id, figures);
      }
      if (signal.aborted) return;
      // The engine ends the stream of a container it removed; find out whether that is what happened.
      await this.endAfterEngineClosed(feed, signal);
    } catch (error) {
      if (signal.aborted) return;
      const failure = engineFailure(this.engine, operation, signal, error);
      if (failure instanceof ContainerNotFoundError) return this.end(feed, "removed");
      this.fail(feed, failure);
    } finally {
      body?.destroy();
    }
  }

  private async endAfterEngineClosed(feed: Feed, signal: AbortSignal): Promise<void> {
    try {
      const inspect = await inspectContainer(this.engine, feed.id, signal);
      if (!inspect.State.Running) return this.end(feed, "stopped");
      this.fail(feed, new EngineUnavailableError(this.engine.endpoint, `the engine ended the stats stream of running container ${JSON.stringify(feed.name)}; watch again`));
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ContainerNotFoundError) return this.end(feed, "removed");
      this.fail(feed, error);
    }
  }

  private end(feed: Feed, reason: LeaveReason): void {
    this.close(feed);
    for (const watcher of feed.watchers) watcher.feedEnded(feed.id, reason);
    feed.watchers.clear();
  }

  private fail(feed: Feed, error: unknown): void {
    const watchers = [...feed.watchers];
    feed.watchers.clear();
    this.close(feed);
    for (const watcher of watchers) watcher.fail(error);
  }
}
