import { setMaxListeners } from "node:events";
import type { ContainerEvent } from "../events/container-events.js";
import type { EventHub } from "../events/event-hub.js";
import { engineCall } from "../engine/engine-call.js";
import { ContainerNotFoundError } from "../errors.js";
import { inspectInScope, listManaged, type EngineInScope } from "../operations/container-lookup.js";
import type { OneShotSampler } from "./one-shot-sampler.js";
import type { StatsHub } from "./stats-hub.js";
import { StatsWatcher, type LeaveReason, type StatsUpdate } from "./stats-watcher.js";

export interface StatsQuery {
  /** References as the caller gave them, already checked; empty for every running container in scope. */
  containers: string[];
  oneShot: boolean;
}

export interface StatsSources {
  target: EngineInScope;
  hub: StatsHub;
  sampler: OneShotSampler;
  /** Tells a stream of every container which start and which stop. */
  events: EventHub;
}

interface Member {
  id: string;
  name: string;
  running: boolean;
}

/** Looks up or samples at most this many containers of one call at once. */
const concurrency = 16;

/**
 * The resource use of the named containers, or of every running container in
 * scope, as a stream of updates (see StatsWatcher): samples about once a
 * second, and a `left` update for each container that stops or is removed.
 * With named containers the stream ends once all have left; with none it
 * follows starts and stops until the caller leaves. With `oneShot`, one
 * sample per container, then the end. Everything the stream holds (its share
 * of the engine stats streams, its event subscription) is let go when the
 * iterator is closed or `signal` aborts.
 */
export async function* containerStats(sources: StatsSources, query: StatsQuery, signal: AbortSignal): AsyncGenerator<StatsUpdate> {
  const all = query.containers.length === 0;
  if (query.oneShot) {
    const members = all ? await runningInScope(sources.target, signal) : await lookUp(sources.target, query.containers, signal);
    yield* oneSampleEach(sources.sampler, members, signal);
    return;
  }
  const watcher = new StatsWatcher(sources.hub);
  const stopFollowing = new AbortController();
  try {
    if (all) {
      // Subscribed before the listing, so that a container starting in between is not missed.
      followStartsAndStops(sources.events, watcher, AbortSignal.any([signal, stopFollowing.signal]));
      for (const member of await runningInScope(sources.target, signal)) watcher.add(member);
    } else {
      const members = await lookUp(sources.target, query.containers, signal);
      for (const member of members) {
        if (member.running) watcher.add(member);
        else yield { kind: "left", containerId: member.id, containerName: member.name, reason: "stopped" };
      }
      watcher.noMoreJoins();
    }
    for (;;) {
      const result = await watcher.next(signal);
      if (result.done) return;
      yield result.value;
    }
  } finally {
    stopFollowing.abort();
    watcher.close();
  }
}

/** Joins containers that start and parts those that stop, until `signal` aborts; a failing event stream fails the watch. */
function followStartsAndStops(events: EventHub, watcher: StatsWatcher, signal: AbortSignal): void {
  const filter = { labelSelector: {}, container: "", types: ["started", "died", "removed"] as ContainerEvent["type"][] };
  const iterator = events.watch(filter, signal, (event) => event)[Symbol.asyncIterator]();
  void (async () => {
    try {
      for (;;) {
        const result = await iterator.next();
        if (result.done) return;
        const event = result.value;
        if (event.type === "started") watcher.add({ id: event.containerId, name: event.containerName });
        else watcher.leave(event.containerId, event.type === "removed" ? "removed" : "stopped");
      }
    } catch (error) {
      if (!signal.aborted) watcher.fail(error);
    } finally {
      void iterator.return?.().catch(() => undefined);
    }
  })();
}

/** The named containers, each once however often it was named; NOT_FOUND for any that is missing or out of scope. */
async function lookUp(target: EngineInScope, references: string[], signal: AbortSignal): Promise<Member[]> {
  const inspects = await inBatches(references, signal, (reference) => inspectInScope(target, reference, signal));
  const seen = new Set<string>();
  const members: Member[] = [];
  for (const inspect of inspects) {
    if (seen.has(inspect.Id)) continue;
    seen.add(inspect.Id);
    members.push({ id: inspect.Id, name: inspect.Name.replace(/^\//, ""), running: inspect.State.Running });
  }
  return members;
}

async function runningInScope(target: EngineInScope, signal: AbortSignal): Promise<Member[]> {
  const { engine, scope } = target;
  const running = { status: ["running"] };
  const entries =
    scope === "managed"
      ? await listManaged(engine, running, signal)
      : await engineCall(engine, { kind: "list-containers" }, signal, () => engine.listContainers({ all: false, filters: running }, signal));
  return entries.map((entry) => ({ id: entry.Id, name: (entry.Names[0] ?? "").replace(/^\//, ""), running: true }));
}

async function* oneSampleEach(sampler: OneShotSampler, members: Member[], signal: AbortSignal): AsyncGenerator<StatsUpdate> {
  const updates = await inBatches(members, signal, async (member): Promise<StatsUpdate> => {
    const left = (reason: LeaveReason): StatsUpdate => ({ kind: "left", containerId: member.id, containerName: member.name, reason });
    if (!member.running) return left("stopped");
    try {
      const result = await sampler.sample(member, signal);
      return result.running ? { kind: "sample", containerId: member.id, containerName: member.name, figures: result.figures } : left("stopped");
    } catch (error) {
      // Removed since it was looked up: gone, like a container that leaves a stream.
      if (error instanceof ContainerNotFoundError) return left("removed");
      throw error;
    }
  });
  yield* updates;
}

/** `work` on every item, at most `concurrency` at once, results in the items' order. */
async function inBatches<T, R>(items: readonly T[], signal: AbortSignal, work: (item: T) => Promise<R>): Promise<R[]> {
  // Each concurrent engine call listens on the signal; that is expected, not a leak.
  setMaxListeners(concurrency * 4 + 16, signal);
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
