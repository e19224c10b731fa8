import { setMaxListeners } from "node:events";
import { createClient } from "@connectrpc/connect";
import Docker from "dockerode";
import { DockerService, type WatchDockerEventsResponse } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { eventually } from "../../test/support/engine-fixtures.js";
import { metric } from "../../test/support/server-metrics.js";
import { benchImage, benchLabel, transport, type BenchContext } from "../context.js";
import type { ScenarioResult } from "../scenario.js";
import { percentile, summarise } from "../stats.js";

const watcherCount = 1000;
/** Watchers share HTTP/2 connections, as many browsers behind one proxy or one service's pool would. */
const connections = 10;

/** 1,000 WatchDockerEvents streams: one engine subscription, event-to-last-watcher latency, memory. */
export async function thousandWatchers(context: BenchContext): Promise<ScenarioResult> {
  const docker = new Docker({ socketPath: "/var/run/docker.sock" });
  const listeners = async () => ((await docker.info()) as { NEventsListener: number }).NEventsListener;
  const listenersBefore = await listeners();
  const rssBefore = context.rssMegabytes();
  const clients = Array.from({ length: connections }, () => createClient(DockerService, transport("grpc", context.osiris.url)));
  const stop = new AbortController();
  // Every watcher listens on this one signal.
  setMaxListeners(watcherCount + 10, stop.signal);
  /** Per event (id, type, engine time): when each watcher got it, in ms since the epoch. */
  const arrivals = new Map<string, { engineMs: number; last: number; count: number }>();
  const record = (event: WatchDockerEventsResponse) => {
    const now = Date.now();
    const engineMs = Number(event.time!.seconds) * 1000 + event.time!.nanos / 1e6;
    const key = `${event.containerId}:${event.type}:${engineMs}`;
    const seen = arrivals.get(key) ?? { engineMs, last: 0, count: 0 };
    seen.last = Math.max(seen.last, now);
    seen.count++;
    arrivals.set(key, seen);
  };
  const watchers = Array.from({ length: watcherCount }, async (_, i) => {
    try {
      for await (const event of clients[i % connections]!.watchDockerEvents({ labelSelector: benchLabel }, { signal: stop.signal })) record(event);
    } catch {
      // Ends with the abort.
    }
  });
  const registered = await eventually(async () => (await metric(context.osiris.url, "osiris_event_watchers")) === watcherCount, 60_000);
  const listenersDuring = await listeners();
  const rssDuring = context.rssMegabytes();
  const runs = context.full ? 50 : 15;
  for (let i = 0; i < runs; i++) {
    await context.client("grpc").runDockerContainer({ image: benchImage, command: ["true"], labels: benchLabel });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await eventually(async () => [...arrivals.values()].every((a) => a.count === watcherCount), 10_000);
  stop.abort();
  await Promise.all(watchers);
  await context.cleanup();
  const complete = [...arrivals.values()].filter((a) => a.count === watcherCount);
  const latencies = complete.map((a) => a.last - a.engineMs);
  const p99 = percentile(latencies, 99);
  const engineConnections = listenersDuring - listenersBefore;
  const rssGrowth = rssDuring - rssBefore;
  return {
    name: "1,000 concurrent WatchDockerEvents watchers",
    direct: "— (engine event connections; latency to the last watcher)",
    unit: "ms",
    osiris: summarise(latencies),
    ratio: engineConnections,
    target: "1 engine connection; p99 ≤ 100 ms; RSS growth ≤ 100 MB",
    met: registered && engineConnections === 1 && p99 <= 100 && rssGrowth <= 100 && complete.length === arrivals.size,
    notes: [
      `${engineConnections} engine event connection(s) for ${watcherCount} watchers`,
      `event-to-last-watcher p99 ${p99.toFixed(1)} ms over ${complete.length} events (${arrivals.size - complete.length} not seen by all)`,
      `Osiris RSS ${rssBefore.toFixed(0)} → ${rssDuring.toFixed(0)} MB (+${rssGrowth.toFixed(0)} MB)`,
    ],
  };
}
