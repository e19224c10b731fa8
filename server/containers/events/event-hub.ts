import type { Readable } from "node:stream";
import { AsyncQueue } from "./async-queue.js";
import { containerEventFromEngine, type ContainerEvent, type ContainerEventType } from "./container-events.js";
import { EventLineSplitter } from "./event-lines.js";
import type { EngineClient, EngineEvent } from "../engine/engine-client.js";
import { engineCall } from "../engine/engine-call.js";
import { EngineUnavailableError, WatcherTooSlowError } from "../errors.js";
import { matchesLabels, type LabelSelector } from "../grammar/label-selector.js";
import { managedLabel } from "../grammar/labels.js";

export interface EventFilter {
  labelSelector: LabelSelector;
  /** A full id, an id prefix or a name; empty for every container. */
  container: string;
  /** Empty for every type. */
  types: ContainerEventType[];
}

export interface EventHubOptions {
  scope: "managed" | "all";
  /** How long the engine may stay unreachable before watchers are told they may have missed events. */
  reconnectWindowMs: number;
  /** Pause between reconnection attempts. */
  retryDelayMs: number;
  /** Events a watcher may fall behind before it is dropped. */
  maxBacklog: number;
  /**
   * Bytes of events (labels included, which can be megabytes) a watcher may
   * fall behind before it is dropped, so that a watcher that stops reading pins
   * a bounded amount of memory whatever the events carry.
   */
  maxBacklogBytes: number;
}

export const defaultEventHubOptions: EventHubOptions = {
  scope: "managed",
  reconnectWindowMs: 30_000,
  retryDelayMs: 250,
  maxBacklog: 10_000,
  maxBacklogBytes: 8 * 1024 * 1024,
};

interface Watcher {
  filter: EventFilter;
  queue: AsyncQueue<ContainerEvent>;
}

/**
 * A permanent reader of the hub (the container cache): it keeps the engine
 * subscription open for the life of the process, sees every in-scope event
 * unfiltered, and is told whenever the stream connects or breaks, because
 * events between a break and the next connection may be lost for good.
 */
export interface EventTap {
  /** The stream is (re)connected: events from now on arrive; earlier ones may have been missed. */
  connected(): void;
  /** Any event about an in-scope container, the engine's action as it wrote it (start, die, rename, exec_start...). */
  changed(containerId: string, action: string): void;
  /** The stream broke: events are being missed until the next connected(). */
  broken(): void;
  /** The stream goes on, but the hub dropped an event it could not read. */
  missed(): void;
}

/**
 * Fans one subscription to the engine's /events out to every watcher. The
 * subscription opens with the first watcher and closes with the last. When
 * the engine's stream breaks, the hub reconnects asking for events since the
 * last one it delivered and drops the replayed ones it already has, so
 * watchers see neither a gap nor a duplicate. If the engine stays away longer
 * than the reconnect window, every watcher ends with UNAVAILABLE.
 */
export class EventHub {
  private readonly watchers = new Set<Watcher>();
  private readonly taps = new Set<EventTap>();
  private upstream: AbortController | undefined;
  /** True while the stream is broken and the hub is trying to reconnect. */
  private reconnecting = false;
  /** The last delivered event's time, and the keys of the events delivered at exactly that time. */
  private lastTimeNano = 0n;
  private keysAtLastTime = new Set<string>();
  /** Times each (re)connection; the count is what tests and /metrics read. */
  connections = 0;

  constructor(
    private readonly engine: EngineClient,
    private readonly options: EventHubOptions = defaultEventHubOptions,
  ) {}

  get watcherCount(): number {
    return this.watchers.size;
  }

  get isSubscribed(): boolean {
    return this.upstream !== undefined;
  }

  /**
   * Attaches a permanent reader until `signal` aborts. While one is attached
   * the hub never gives up on the engine: watchers still fail as before when
   * it stays away, but the hub keeps reconnecting for the tap.
   */
  tap(tap: EventTap, signal: AbortSignal): void {
    if (signal.aborted) return;
    this.taps.add(tap);
    signal.addEventListener(
      "abort",
      () => {
        this.taps.delete(tap);
        if (this.watchers.size === 0 && this.taps.size === 0) this.unsubscribe();
      },
      { once: true },
    );
    if (!this.upstream) this.subscribe();
    else if (this.connected) tap.connected();
  }

  /** True while the engine's stream is open and being read. */
  private connected = false;

  /**
   * Events matching the filter, from now until the caller's signal aborts (the
   * iterator then rejects with the signal's reason) or the hub gives up. Each
   * event is passed through `present` for this watcher. A plain iterator
   * rather than an async generator: with a thousand watchers every event is
   * delivered a thousand times, and generator layers cost on each delivery.
   */
  watch<T>(filter: EventFilter, signal: AbortSignal, present: (event: ContainerEvent) => T): AsyncIterable<T> {
    return {
      [Symbol.asyncIterator]: () => {
        if (this.reconnecting) {
          const down = new EngineUnavailableError(this.engine.endpoint, "the engine's event stream is down; watch again once it is back");
          return { next: () => Promise.reject(down) };
        }
        const limits = { maxItems: this.options.maxBacklog, maxBytes: this.options.maxBacklogBytes, sizeOf: eventSize };
        let watcher: Watcher | undefined = { filter, queue: new AsyncQueue(limits) };
        const queue = watcher.queue;
        this.watchers.add(watcher);
        if (!this.upstream) this.subscribe();
        const leave = () => {
          if (!watcher) return;
          this.watchers.delete(watcher);
          watcher = undefined;
          if (this.watchers.size === 0 && this.taps.size === 0) this.unsubscribe();
        };
        return {
          next: (): Promise<IteratorResult<T>> =>
            queue.next(signal).then(
              (result) => {
                if (result.done) {
                  leave();
                  return { done: true, value: undefined };
                }
                return { done: false, value: present(result.value) };
              },
              (error: unknown) => {
                leave();
                throw error;
              },
            ),
          return: (): Promise<IteratorResult<T>> => {
            leave();
            return Promise.resolve({ done: true, value: undefined });
          },
        };
      },
    };
  }

  private subscribe(): void {
    const upstream = new AbortController();
    this.upstream = upstream;
    this.reconnecting = false;
    // Events from the moment the first watcher arrived count, even those the
    // engine records while the connection is still being made.
    this.lastTimeNano = BigInt(Date.now()) * 1_000_000n;
    this.keysAtLastTime = new Set();
    void this.follow(upstream.signal);
  }

  private unsubscribe(): void {
    this.upstream?.abort();
    this.upstream = undefined;
    this.reconnecting = false;
  }

  /** Reads the engine's stream until aborted, reconnecting within the window. */
  private async follow(signal: AbortSignal): Promise<void> {
    let brokenSince: number | undefined;
    let firstAttempt = true;
    while (!signal.aborted) {
      let body: Readable | undefined;
      try {
        const since = engineTime(this.lastTimeNano);
        body = await engineCall(this.engine, { kind: "watch-events" }, signal, () =>
          this.engine.events({ since, filters: { type: ["container"] } }, signal),
        );
        this.connections++;
        brokenSince = undefined;
        this.reconnecting = false;
        firstAttempt = false;
        this.connected = true;
        for (const tap of this.taps) tap.connected();
        await this.read(body, signal);
      } catch (error) {
        if (signal.aborted) return;
        // A first connection that fails is an engine that is down now: say so at once.
        if (firstAttempt) {
          this.failAll(error instanceof Error ? error : new Error(String(error)), signal);
          if (this.taps.size === 0) return;
        }
      } finally {
        body?.destroy();
        if (this.connected) {
          this.connected = false;
          for (const tap of this.taps) tap.broken();
        }
      }
      if (signal.aborted) return;
      brokenSince ??= Date.now();
      this.reconnecting = true;
      if (Date.now() - brokenSince > this.options.reconnectWindowMs && this.watchers.size > 0) {
        this.failAll(
          new EngineUnavailableError(
            this.engine.endpoint,
            `the engine's event stream was down for more than ${this.options.reconnectWindowMs / 1000} s; events may have been missed, watch again`,
          ),
          signal,
        );
        if (this.taps.size === 0) return;
      }
      await delay(this.options.retryDelayMs, signal);
    }
  }

  private async read(body: Readable, signal: AbortSignal): Promise<void> {
    const lines = new EventLineSplitter();
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (signal.aborted) return;
      const skippedBefore = lines.skipped;
      for (const line of lines.push(chunk)) this.receive(line);
      if (lines.skipped !== skippedBefore) for (const tap of this.taps) tap.missed();
    }
  }

  private receive(line: string): void {
    if (line.trim() === "") return;
    let parsed: EngineEvent;
    try {
      parsed = JSON.parse(line) as EngineEvent;
    } catch {
      for (const tap of this.taps) tap.missed();
      return;
    }
    if (this.taps.size > 0) this.tell(parsed);
    const exactTime = /"timeNano":(\d+)/.exec(line)?.[1];
    if (exactTime) parsed.timeNano = BigInt(exactTime);
    const event = containerEventFromEngine(parsed);
    if (!event || !this.isNew(event, line)) return;
    if (this.options.scope === "managed" && event.labels[managedLabel] !== "true") return;
    for (const watcher of this.watchers) {
      if (!matches(event, watcher.filter)) continue;
      if (!watcher.queue.push(event)) {
        watcher.queue.fail(new WatcherTooSlowError(this.options.maxBacklog, this.options.maxBacklogBytes));
        this.watchers.delete(watcher);
      }
    }
    if (this.watchers.size === 0 && this.taps.size === 0) this.unsubscribe();
  }

  private tell(event: EngineEvent): void {
    const id = event.Actor?.ID;
    if (event.Type !== "container" || !id) return;
    if (this.options.scope === "managed" && event.Actor?.Attributes?.[managedLabel] !== "true") return;
    for (const tap of this.taps) tap.changed(id, event.Action ?? "");
  }

  /** Drops what a reconnection replays: anything older than the last event, or the same event again. */
  private isNew(event: ContainerEvent, line: string): boolean {
    if (event.timeNano < this.lastTimeNano) return false;
    if (event.timeNano > this.lastTimeNano) {
      this.lastTimeNano = event.timeNano;
      this.keysAtLastTime = new Set();
    }
    if (this.keysAtLastTime.has(line)) return false;
    this.keysAtLastTime.add(line);
    return true;
  }

  private failAll(error: Error, signal: AbortSignal): void {
    if (signal.aborted) return;
    for (const watcher of this.watchers) watcher.queue.fail(error);
    this.watchers.clear();
    if (this.taps.size === 0) this.unsubscribe();
  }
}

/** An event's size as a backlog holds it, about; computed once, as every watcher's queue asks. */
const eventSizes = new WeakMap<ContainerEvent, number>();
const eventOverheadBytes = 200;

function eventSize(event: ContainerEvent): number {
  let size = eventSizes.get(event);
  if (size === undefined) {
    size = eventOverheadBytes + event.containerId.length + event.containerName.length + event.image.length + event.signal.length;
    for (const key in event.labels) size += key.length + (event.labels[key]?.length ?? 0);
    eventSizes.set(event, size);
  }
  return size;
}

/** The engine reads `since` as unix seconds with a fraction. */
function engineTime(timeNano: bigint): string {
  const seconds = timeNano / 1_000_000_000n;
  const nanos = timeNano % 1_000_000_000n;
  return `${seconds}.${nanos.toString().padStart(9, "0")}`;
}

function matches(event: ContainerEvent, filter: EventFilter): boolean {
  if (filter.types.length > 0 && !filter.types.includes(event.type)) return false;
  if (filter.container !== "" && !refersTo(filter.container, event)) return false;
  return matchesLabels(event.labels, filter.labelSelector);
}

function refersTo(reference: string, event: ContainerEvent): boolean {
  const name = reference.replace(/^\//, "");
  return event.containerName === name || event.containerId.startsWith(reference);
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
