import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** Everything /metrics exposes, on a registry of its own so several apps can share a process. */
export class Metrics {
  readonly registry = new Registry();

  readonly rpcs = new Counter({
    name: "osiris_rpc_requests_total",
    help: "RPCs finished, by method, protocol (grpc, grpc-web, connect) and status code.",
    labelNames: ["method", "protocol", "code"] as const,
    registers: [this.registry],
  });

  readonly rpcSeconds = new Histogram({
    name: "osiris_rpc_duration_seconds",
    help: "RPC latency from first byte to final status, by method, protocol and status code.",
    labelNames: ["method", "protocol", "code"] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
    registers: [this.registry],
  });

  readonly inFlight = new Gauge({
    name: "osiris_rpc_in_flight",
    help: "RPCs being served now, streams included.",
    labelNames: ["method"] as const,
    registers: [this.registry],
  });

  readonly activeStreams = new Gauge({
    name: "osiris_active_streams",
    help: "Server-streaming responses open now.",
    labelNames: ["method"] as const,
    registers: [this.registry],
  });

  readonly engineSeconds = new Histogram({
    name: "osiris_engine_call_duration_seconds",
    help: "Docker engine API latency to response headers, by operation and outcome.",
    labelNames: ["operation", "outcome"] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30],
    registers: [this.registry],
  });

  readonly containersStarted = new Counter({
    name: "osiris_containers_started_total",
    help: "Containers RunDockerContainer started.",
    registers: [this.registry],
  });

  readonly containersStopped = new Counter({
    name: "osiris_containers_stopped_total",
    help: "Running containers StopDockerContainer stopped.",
    registers: [this.registry],
  });

  /** Reads the hub's state at scrape time, so the numbers are never stale. */
  observeEventHub(hub: { watcherCount: number; isSubscribed: boolean; connections: number }): void {
    new Gauge({
      name: "osiris_event_watchers",
      help: "WatchDockerEvents streams open now.",
      registers: [this.registry],
      collect() {
        this.set(hub.watcherCount);
      },
    });
    new Gauge({
      name: "osiris_engine_event_subscriptions",
      help: "Subscriptions to the engine's /events open now: 1 while anyone watches, else 0.",
      registers: [this.registry],
      collect() {
        this.set(hub.isSubscribed ? 1 : 0);
      },
    });
    new Counter({
      name: "osiris_engine_event_connections_total",
      help: "Connections made to the engine's /events, reconnections included.",
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(hub.connections);
      },
    });
  }

  /** The container cache's state at scrape time. */
  observeContainerCache(cache: { version: number; relists: number; syncedAt: number; size: number; serving: boolean }): void {
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({ name, help, registers: [this.registry], collect() { this.set(read()); } });
    gauge("osiris_container_cache_version", "Changes the container cache has applied; only ever grows.", () => cache.version);
    gauge("osiris_container_cache_containers", "Containers the cache holds.", () => cache.size);
    gauge("osiris_container_cache_serving", "1 while reads are answered from the cache, 0 while they go to the engine.", () => (cache.serving ? 1 : 0));
    gauge("osiris_container_cache_age_seconds", "Seconds since the cache last finished a full relist.", () =>
      cache.syncedAt === 0 ? 0 : (Date.now() - cache.syncedAt) / 1000,
    );
    new Counter({
      name: "osiris_container_cache_relists_total",
      help: "Full relists of the container cache: at start, on every reconnection to the engine, on any doubt and on the resync timer.",
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(cache.relists);
      },
    });
  }

  /** Reads the stats hub's state at scrape time. */
  observeStatsHub(hub: { openStreams: number; watcherCount: number; connections: number }): void {
    new Gauge({
      name: "osiris_engine_stats_streams",
      help: "Engine stats streams open now: one per container someone watches with StreamDockerContainerStats, however many watch it.",
      registers: [this.registry],
      collect() {
        this.set(hub.openStreams);
      },
    });
    new Gauge({
      name: "osiris_stats_watchers",
      help: "Containers watched by StreamDockerContainerStats streams, summed over the streams.",
      registers: [this.registry],
      collect() {
        this.set(hub.watcherCount);
      },
    });
    new Counter({
      name: "osiris_engine_stats_connections_total",
      help: "Engine stats streams opened since the start.",
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(hub.connections);
      },
    });
  }

  /** Reads the log hub's state at scrape time. */
  observeLogHub(hub: { upstreamCount: number; followerCount: number; connections: number }): void {
    new Gauge({
      name: "osiris_engine_log_streams",
      help: "Engine log follow connections open now: one per container someone follows, however many follow it.",
      registers: [this.registry],
      collect() {
        this.set(hub.upstreamCount);
      },
    });
    new Gauge({
      name: "osiris_log_followers",
      help: "StreamDockerContainerLogs streams with follow open now.",
      registers: [this.registry],
      collect() {
        this.set(hub.followerCount);
      },
    });
    new Counter({
      name: "osiris_engine_log_connections_total",
      help: "Engine log follow connections opened since the start.",
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(hub.connections);
      },
    });
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
