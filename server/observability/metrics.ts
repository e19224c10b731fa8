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

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
