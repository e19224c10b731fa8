import { setMaxListeners } from "node:events";
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  WatchDockerEventsRequestSchema,
  WatchDockerEventsResponseSchema,
} from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { eventually } from "../../test/support/engine-fixtures.js";
import { engineEventListeners } from "../../test/support/engine-connections.js";
import { metric } from "../../test/support/server-metrics.js";
import { benchImage, benchLabel, type BenchContext } from "../context.js";
import { grpcFrame } from "../load-generators.js";
import type { ScenarioResult } from "../scenario.js";
import { percentile, summarise } from "../stats.js";

const watcherCount = 1000;
/** Watchers share HTTP/2 connections, as many browsers behind one proxy or one service's pool would. */
const connections = 10;

/**
 * A watcher as a load generator: a raw HTTP/2 gRPC stream that notes when
 * each message arrives without decoding it, so that a thousand of them in one
 * process measure Osiris's delivery rather than the client's own decoding.
 * Every watcher has the same filter, so the k-th message of each is the same
 * event; one decoding watcher tells which.
 */
function rawWatcher(session: http2.ClientHttp2Session, body: Buffer, onMessage: (index: number, bytes: Buffer) => void) {
  const stream = session.request({
    ":method": "POST",
    ":path": "/osiris.docker.v1.DockerService/WatchDockerEvents",
    "content-type": "application/grpc",
    te: "trailers",
  });
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;
  stream.on("data", (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
      const length = pending.readUInt32BE(1);
      onMessage(index++, pending.subarray(5, 5 + length));
      pending = pending.subarray(5 + length);
    }
  });
  stream.on("error", () => undefined);
  stream.end(body);
  return stream;
}

/**
 * CPU seconds (user + system) a process has used, from /proc: what delivering
 * costs Osiris, which other tenants of a busy machine change far less than
 * they change latency.
 */
function cpuSeconds(pid: number): number {
  // After the command name, which may hold spaces: state is field 3, utime 14 and stime 15.
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** 1,000 WatchDockerEvents streams: one engine subscription, event-to-last-watcher latency, memory. */
export async function thousandWatchers(context: BenchContext): Promise<ScenarioResult> {
  const listeners = engineEventListeners;
  const listenersBefore = await listeners();
  const rssBefore = context.rssMegabytes();
  const sessions = Array.from({ length: connections }, () => http2.connect(context.osiris.url));
  for (const session of sessions) setMaxListeners(watcherCount, session);
  const body = grpcFrame(toBinary(WatchDockerEventsRequestSchema, create(WatchDockerEventsRequestSchema, { labelSelector: benchLabel })));
  /** For the k-th event: the engine's time, the latest arrival and how many watchers got it. */
  const events: { engineMs: number; last: number; count: number }[] = [];
  const arrived = (index: number) => {
    const now = Date.now();
    const event = (events[index] ??= { engineMs: Number.NaN, last: 0, count: 0 });
    event.last = Math.max(event.last, now);
    event.count++;
  };
  const streams = Array.from({ length: watcherCount }, (_, i) =>
    rawWatcher(sessions[i % connections]!, body, (index, bytes) => {
      arrived(index);
      if (i === 0) {
        const time = fromBinary(WatchDockerEventsResponseSchema, bytes).time!;
        events[index]!.engineMs = Number(time.seconds) * 1000 + time.nanos / 1e6;
      }
    }),
  );
  const registered = await eventually(async () => (await metric(context.osiris.url, "osiris_event_watchers")) === watcherCount, 60_000);
  const listenersDuring = await listeners();
  const rssDuring = context.rssMegabytes();
  const runs = context.full ? 50 : 15;
  const cpuBefore = cpuSeconds(context.osiris.child.pid!);
  for (let i = 0; i < runs; i++) {
    await context.client("grpc").runDockerContainer({ image: benchImage, command: ["true"], labels: benchLabel });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await eventually(async () => events.length > 0 && events.every((e) => e.count === watcherCount), 10_000);
  const cpuPerMessage = (cpuSeconds(context.osiris.child.pid!) - cpuBefore) / (events.length * watcherCount);
  for (const stream of streams) stream.close(http2.constants.NGHTTP2_CANCEL);
  for (const session of sessions) session.close();
  await context.cleanup();
  const complete = events.filter((e) => e.count === watcherCount && !Number.isNaN(e.engineMs));
  const latencies = complete.map((e) => e.last - e.engineMs);
  const p99 = percentile(latencies, 99);
  // Zero when something in Osiris (the container cache) already holds the subscription the watchers share.
  const engineConnections = listenersDuring - listenersBefore;
  const rssGrowth = rssDuring - rssBefore;
  return {
    name: "1,000 concurrent WatchDockerEvents watchers (gRPC, 10 HTTP/2 connections)",
    direct: "— (engine event connections; latency to the last watcher)",
    unit: "ms",
    osiris: summarise(latencies),
    ratio: engineConnections,
    target: "≤ 1 engine connection; p99 ≤ 100 ms; RSS growth ≤ 100 MB",
    met: registered && engineConnections <= 1 && p99 <= 100 && rssGrowth <= 100 && complete.length === events.length,
    notes: [
      `${engineConnections} engine event connection(s) opened for ${watcherCount} watchers (${listenersDuring} open in all)`,
      `Osiris CPU per event message delivered: ${(cpuPerMessage * 1e6).toFixed(0)} µs (the ${runs} Runs that made the events included)`,
      `event-to-last-watcher p99 ${p99.toFixed(1)} ms over ${complete.length} events (${events.length - complete.length} not seen by all)`,
      `Osiris RSS ${rssBefore.toFixed(0)} → ${rssDuring.toFixed(0)} MB (+${rssGrowth.toFixed(0)} MB)`,
    ],
  };
}
