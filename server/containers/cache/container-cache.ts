import { setMaxListeners } from "node:events";
import type { ContainerInspect, EngineClient } from "../engine/engine-client.js";
import { engineCall } from "../engine/engine-call.js";
import { ContainerNotFoundError } from "../errors.js";
import type { EventHub, EventTap } from "../events/event-hub.js";
import { managedLabel } from "../grammar/labels.js";
import type { Scope } from "../scope.js";
import { cachedInspect } from "./cached-inspect.js";

export interface ContainerCacheOptions {
  scope: Scope;
  /** A full relist this often, for events the engine dropped without a word (it drops them for a reader 100 ms behind). */
  resyncIntervalMs: number;
  /** Whether the engine answers now (EngineMonitor): a frozen engine keeps its event stream open and silent. */
  engineReachable: () => boolean;
  /** Inspects a relist runs at once. */
  relistConcurrency?: number;
}

interface Entry {
  inspect: ContainerInspect;
  /** The sequence number of the inspect this entry came from; an older answer never overwrites it. */
  seq: number;
}

/**
 * Engine event actions after which a container's inspect may differ. Not
 * kill and stop: the engine records the exit before it sends die, so those
 * two only repeat what die told; nor exec_*, attach, resize..., which change
 * nothing Osiris reports.
 */
const changingActions = new Set(["create", "start", "restart", "die", "pause", "unpause", "rename", "update", "oom"]);

/**
 * How long an event's inspect waits: the events of one change come in a burst
 * (die, then stop), and the operation that made the change usually inspects
 * in that time, which makes the cache's own inspect unnecessary.
 */
const eventSettleMs = 25;

/**
 * The engine drops events for a subscriber whose queue (1,024 events) stays
 * full for 100 ms, without a word. Its queue fills only while Osiris reads
 * nothing: while its event loop is stalled (a long collection, a starved
 * CPU, a stopped process), seen as a late timer. Then everything the engine
 * queued arrives at once; only a burst near the queue's size can hide a
 * drop, and that is treated as a gap: a relist. (Relisting after every stall
 * would relist over and over on a loaded machine.) Without this a container
 * removed meanwhile stayed in the cache until the next resync (minutes).
 */
const stallCheckMs = 25;
const engineDropAfterMs = 100;
/** Events read in the second after a stall that mean the engine's queue may have overflowed: half of it, for margin. */
const burstAfterStall = 512;
const burstWindowMs = 1000;

/** Answers that came from memory, so an operation knows their State may be a moment old. */
const servedFromMemory = new WeakSet<ContainerInspect>();

/** True for an inspect the cache answered: its identity and configuration are exact, its State may be a moment old. */
export function isFromCache(inspect: ContainerInspect): boolean {
  return servedFromMemory.has(inspect);
}

/**
 * Every in-scope container's inspect, kept current from the engine's events,
 * the list-and-watch pattern of Kubernetes informers: subscribe, then list
 * (so nothing falls between the two), then apply each event by inspecting the
 * container it names. Any doubt (a reconnection, an event the hub could not
 * read, a failed inspect, the resync timer) leads to a full relist.
 *
 * Every inspect, whoever made it, carries a sequence number taken when it was
 * asked, and an answer older than what an entry holds is dropped: an
 * operation's own inspect after a Stop is never overwritten by an event's
 * inspect that set off before it. That, and the write-through engine, gives
 * read-your-writes on one Osiris.
 *
 * The cache answers only while it is `serving`: synced since the stream last
 * connected, and the engine reachable. Otherwise callers ask the engine, which
 * answers UNAVAILABLE when it is down, rather than reading stale data.
 */
export class ContainerCache implements EventTap {
  private readonly entries = new Map<string, Entry>();
  private readonly idsByName = new Map<string, string>();
  /** Ids removed, with the sequence number of the removal, so an inspect asked before it cannot bring them back. */
  private readonly removed = new Map<string, number>();
  private sequence = 0;
  private streamOpen = false;
  private synced = false;
  private relisting = false;
  private relistAgain = false;
  private readonly refreshing = new Map<string, boolean>();
  /** Containers whose events are settling, with the sequence number of the last one heard. */
  private readonly settling = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  /** Container events read from the hub, ever; see burstAfterStall. */
  private eventsRead = 0;
  /** After a stall: the events read before it, and until when a burst counts. */
  private burst: { from: number; until: number } | undefined;
  private readonly stopped = new AbortController();
  /** Counts every change applied; never goes back. */
  version = 0;
  relists = 0;
  /** When the last relist completed (ms since the epoch); 0 before the first. */
  syncedAt = 0;

  constructor(
    private readonly engine: EngineClient,
    private readonly options: ContainerCacheOptions,
  ) {
    setMaxListeners(0, this.stopped.signal);
  }

  /** Starts following the hub; the first relist runs once its stream connects. */
  start(hub: EventHub): void {
    hub.tap(this, this.stopped.signal);
    this.timer = setInterval(() => this.requestRelist(), this.options.resyncIntervalMs);
    this.timer.unref();
    let lastTick = performance.now();
    let eventsAtLastTick = 0;
    this.stallTimer = setInterval(() => {
      const now = performance.now();
      if (now - lastTick >= engineDropAfterMs) {
        // Counted from before the stall: the burst may have been read before this timer ran.
        if (this.burst === undefined) this.burst = { from: eventsAtLastTick, until: 0 };
        this.burst.until = now + burstWindowMs;
        this.checkBurst();
      }
      lastTick = now;
      eventsAtLastTick = this.eventsRead;
    }, stallCheckMs);
    this.stallTimer.unref();
  }

  private checkBurst(): void {
    if (this.burst === undefined) return;
    if (performance.now() > this.burst.until) {
      this.burst = undefined;
      return;
    }
    if (this.eventsRead - this.burst.from < burstAfterStall) return;
    this.burst = undefined;
    if (this.streamOpen) this.missed();
  }

  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.stallTimer);
    this.stopped.abort();
    this.synced = false;
  }

  get serving(): boolean {
    return this.synced && this.streamOpen && this.options.engineReachable();
  }

  get size(): number {
    return this.entries.size;
  }

  /** A sequence number for an inspect about to be asked; pass it to `apply` with the answer. */
  nextSequence(): number {
    return ++this.sequence;
  }

  // ---- reads ----

  /**
   * The container a full id or a name names; undefined when the cache is not
   * serving or does not know it: the caller then asks the engine, whose answer
   * is authoritative. An id prefix always goes to the engine: whether it is
   * unique depends on every container, including one made a moment ago that
   * the cache has not seen yet, and a wrong guess would act on the wrong
   * container instead of answering "ambiguous".
   */
  lookup(reference: string): ContainerInspect | undefined {
    if (!this.serving || reference === "") return undefined;
    const id = this.entries.has(reference) ? reference : this.idsByName.get(reference.replace(/^\//, ""));
    const inspect = id === undefined ? undefined : this.entries.get(id)?.inspect;
    if (inspect) servedFromMemory.add(inspect);
    return inspect;
  }

  /** Every cached inspect; undefined when the cache is not serving. */
  all(): Iterable<ContainerInspect> | undefined {
    if (!this.serving) return undefined;
    return Array.from(this.entries.values(), (entry) => entry.inspect);
  }

  // ---- writes ----

  /** An inspect answer, asked at `seq`; dropped when the cache already holds something newer. */
  apply(inspect: ContainerInspect, seq: number): void {
    if ((this.removed.get(inspect.Id) ?? -1) > seq) return;
    const current = this.entries.get(inspect.Id);
    if (current && current.seq > seq) return;
    if (this.options.scope === "managed" && inspect.Config?.Labels?.[managedLabel] !== "true") return;
    const kept = cachedInspect(inspect);
    if (current && current.inspect.Name !== kept.Name) this.forgetName(current.inspect);
    this.entries.set(inspect.Id, { inspect: kept, seq });
    this.idsByName.set(kept.Name.replace(/^\//, ""), kept.Id);
    this.removed.delete(inspect.Id);
    this.version++;
  }

  /** The container is gone, as of `seq` (a destroy event, a 404, a removal Osiris made). */
  forget(id: string, seq: number): void {
    const current = this.entries.get(id);
    if (current && current.seq > seq) return;
    if (current) {
      this.entries.delete(id);
      this.forgetName(current.inspect);
      this.version++;
    }
    this.removed.set(id, seq);
    // Only an inspect in flight at the removal needs the record; keep the last ten thousand.
    if (this.removed.size > 10_000) this.removed.delete(this.removed.keys().next().value as string);
  }

  private forgetName(inspect: ContainerInspect): void {
    const name = inspect.Name.replace(/^\//, "");
    if (this.idsByName.get(name) === inspect.Id) this.idsByName.delete(name);
  }

  // ---- EventTap ----

  connected(): void {
    this.streamOpen = true;
    this.synced = false;
    this.requestRelist();
  }

  broken(): void {
    this.streamOpen = false;
    this.synced = false;
  }

  missed(): void {
    this.synced = false;
    this.requestRelist();
  }

  changed(containerId: string, action: string): void {
    this.eventsRead++;
    if (this.burst !== undefined) this.checkBurst();
    if (action === "destroy") return this.forget(containerId, this.nextSequence());
    if (!changingActions.has(action) && !action.startsWith("health_status")) return;
    const heardAt = this.nextSequence();
    const pending = this.settling.get(containerId);
    if (pending !== undefined) {
      this.settling.set(containerId, heardAt);
      return;
    }
    this.settling.set(containerId, heardAt);
    const timer = setTimeout(() => {
      const lastHeard = this.settling.get(containerId) ?? heardAt;
      this.settling.delete(containerId);
      // An inspect asked after the last event (an operation's own) already tells what it changed.
      if ((this.entries.get(containerId)?.seq ?? -1) > lastHeard) return;
      this.refresh(containerId);
    }, eventSettleMs);
    timer.unref();
  }

  /** Inspects one container again; a refresh asked while one runs runs once more after it. */
  private refresh(id: string): void {
    if (this.refreshing.has(id)) {
      this.refreshing.set(id, true);
      return;
    }
    this.refreshing.set(id, false);
    void this.inspectInto(id).then(
      () => this.afterRefresh(id),
      () => {
        this.afterRefresh(id);
        // The engine's state is unknown; only a relist settles it.
        this.missed();
      },
    );
  }

  private afterRefresh(id: string): void {
    const again = this.refreshing.get(id);
    this.refreshing.delete(id);
    if (again) this.refresh(id);
  }

  private async inspectInto(id: string): Promise<void> {
    const seq = this.nextSequence();
    try {
      const inspect = await engineCall(this.engine, { kind: "inspect-container", container: id }, this.stopped.signal, () =>
        this.engine.inspectContainer(id, this.stopped.signal),
      );
      this.apply(inspect, seq);
    } catch (error) {
      if (!(error instanceof ContainerNotFoundError)) throw error;
      this.forget(id, seq);
    }
  }

  // ---- relist ----

  private requestRelist(): void {
    if (this.stopped.signal.aborted || !this.streamOpen) return;
    if (this.relisting) {
      this.relistAgain = true;
      return;
    }
    this.relisting = true;
    void this.relist().finally(() => {
      this.relisting = false;
      if (this.relistAgain) {
        this.relistAgain = false;
        this.requestRelist();
      }
    });
  }

  private async relist(): Promise<void> {
    const listedAt = this.nextSequence();
    const signal = this.stopped.signal;
    try {
      const filters: Record<string, string[]> = this.options.scope === "managed" ? { label: [`${managedLabel}=true`] } : {};
      const listed = await engineCall(this.engine, { kind: "list-containers" }, signal, () =>
        this.engine.listContainers({ all: true, filters }, signal),
      );
      const ids = new Set(listed.map((entry) => entry.Id));
      for (const [id, entry] of this.entries) if (!ids.has(id) && entry.seq < listedAt) this.forget(id, listedAt);
      const queue = [...ids];
      const worker = async () => {
        for (let id = queue.pop(); id !== undefined; id = queue.pop()) await this.inspectInto(id);
      };
      await Promise.all(Array.from({ length: Math.min(this.options.relistConcurrency ?? 16, queue.length) }, worker));
      this.relists++;
      this.syncedAt = Date.now();
      // Events during the relist were applied as they came; a break during it leaves the cache unsynced.
      if (this.streamOpen && !this.relistAgain) this.synced = true;
    } catch {
      this.synced = false;
      if (!signal.aborted && this.streamOpen) {
        const retry = setTimeout(() => this.requestRelist(), 1000);
        retry.unref();
      }
    }
  }
}
