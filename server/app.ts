import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import { randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import { pino } from "pino";
import Fastify, { LogController, type FastifyInstance, type FastifyServerFactory } from "fastify";
import type { Config } from "./config.js";
import { Containers } from "./containers/containers.js";
import type { EngineClient } from "./containers/engine/engine-client.js";
import { timedEngineClient } from "./containers/engine/timed-engine-client.js";
import { ContainerCache } from "./containers/cache/container-cache.js";
import { defaultEventHubOptions, EventHub } from "./containers/events/event-hub.js";
import { newInstanceId } from "./containers/grammar/labels.js";
import { AbandonedRunSweep, type AbandonedRunSweepOptions } from "./containers/operations/abandoned-run-sweep.js";
import { registerBrowserOrigins } from "./browser-origins.js";
import { registerHostCheck } from "./host-check.js";
import { registerDeadlineClamp } from "./deadline-clamp.js";
import { registerDashboardAssets } from "./dashboard-assets.js";
import { createDualProtocolServer, type FaultLog } from "./dual-protocol-server.js";
import { EngineMonitor } from "./containers/engine/engine-monitor.js";
import { Metrics } from "./observability/metrics.js";
import { telemetryInterceptor } from "./observability/telemetry.js";
import { registerProbes } from "./probes.js";
import { classifyDecodeFailures } from "./rpc/decode-errors.js";
import { refusal } from "./rpc/errors.js";
import { errorMappingInterceptor } from "./rpc/error-mapping.js";
import { routes, streamLifetimeInterceptor } from "./rpc/routes.js";
import { accessControlInterceptor } from "./security/access-control.js";
import { clientCertificateContext } from "./security/client-certificate.js";
import { auditInterceptor } from "./security/audit-log.js";
import { inFlightLimitInterceptor } from "./security/inflight-limit.js";
import { createFrontDoor, frontDoorInterceptor, rateLimitInterceptor, remoteAddressKey, remoteAddressOf } from "./security/rate-limit.js";
import { credentialGate } from "./security/request-gate.js";
import { streamLimitInterceptor } from "./security/stream-limit.js";

export interface AppDependencies {
  /** The Docker engine: `connectEngine(endpoint)` for a real one, or any other EngineClient (a fake in tests). */
  engine: EngineClient;
  /** Where logs go; standard output when unset. Tests capture it. */
  logStream?: { write(line: string): void };
  /** Labels (io.osiris.instance) the containers this app creates; a fresh random id when unset. */
  instanceId?: string;
  /** Sweeps the engine for abandoned runs while the app listens (see AbandonedRunSweep); no sweep when unset. */
  abandonedRunSweep?: AbandonedRunSweepOptions;
  /** Where the built dashboard is served from (with OSIRIS_UI=on); dist/ui/ of the checkout when unset. */
  dashboardDirectory?: string;
}

export type AppConfig = Pick<
  Config,
  | "logLevel"
  | "tls"
  | "readMaxBytes"
  | "shutdownTimeoutMs"
  | "corsOrigins"
  | "tokens"
  | "scope"
  | "runPolicy"
  | "rateLimit"
  | "maxStreamsPerPrincipal"
  | "eventReconnectWindowMs"
  | "containerCache"
  | "cacheResyncMs"
  | "requestDigestKey"
  | "allowedHosts"
  | "idleTimeoutMs"
  | "maxConnections"
  | "maxInFlightPerPrincipal"
  | "exec"
  | "ui"
>;

/**
 * Log lines go to standard output without a write call each: under load the
 * one-line-per-RPC log would otherwise cost a system call per request. Lines
 * written while one write is in flight are sent together with the next.
 */
const standardOutput = pino.destination({ dest: 1, sync: false });

/** The key the request_id digest is made with; a random one, with a warning, when the operator set none. */
function requestDigestKey(config: AppConfig, log: FastifyInstance["log"]): Buffer {
  if (config.requestDigestKey) return config.requestDigestKey;
  log.warn(
    "OSIRIS_REQUEST_DIGEST_KEY_FILE is not set: request_id digests use a random key of this process, so a retry that reaches another replica or this server after a restart gets FAILED_PRECONDITION; give every replica the same key",
  );
  return randomBytes(32);
}

/** The Fastify app with every route registered; it does not listen, so tests can use it directly. */
export async function buildApp(
  config: AppConfig,
  { engine: untimedEngine, logStream, instanceId = newInstanceId(), abandonedRunSweep, dashboardDirectory }: AppDependencies,
): Promise<FastifyInstance> {
  // Fastify makes the server before the app, so the server's log reaches the app's logger late.
  let serverLog: FaultLog | undefined;
  const serverFactory = ((handler: Parameters<typeof createDualProtocolServer>[0]) =>
    createDualProtocolServer(handler, {
      tls: config.tls,
      closeGraceMs: config.shutdownTimeoutMs,
      idleTimeoutMs: config.idleTimeoutMs,
      maxConnections: config.maxConnections,
      log: { warn: (fields, message) => serverLog?.warn(fields, message), error: (fields, message) => serverLog?.error(fields, message) },
    })) as unknown as FastifyServerFactory;
  // serverFactory hands Fastify our dual-protocol server; its typings cannot follow that.
  const app = Fastify({
    logger: { level: config.logLevel, stream: logStream ?? standardOutput },
    serverFactory,
    // The request-log interceptor writes one line per RPC instead.
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance;
  serverLog = app.log;
  if (!logStream) app.addHook("onClose", async () => standardOutput.flushSync());
  const metrics = new Metrics();
  const engine = timedEngineClient(untimedEngine, (operation, seconds, outcome) => metrics.engineSeconds.observe({ operation, outcome }, seconds));
  const events = new EventHub(engine, {
    ...defaultEventHubOptions,
    scope: config.scope,
    reconnectWindowMs: config.eventReconnectWindowMs,
  });
  metrics.observeEventHub(events);
  const monitor = new EngineMonitor(engine);
  await monitor.start();
  const cache = config.containerCache
    ? new ContainerCache(engine, { scope: config.scope, resyncIntervalMs: config.cacheResyncMs, engineReachable: () => monitor.isReachable })
    : undefined;
  if (cache) {
    cache.start(events);
    metrics.observeContainerCache(cache);
    app.addHook("onClose", async () => cache.stop());
  }
  const containers = new Containers(engine, app.log, {
    cache,
    events,
    scope: config.scope,
    policy: config.runPolicy,
    exec: config.exec,
    instanceId,
    requestDigestKey: requestDigestKey(config, app.log),
    onContainerStarted: () => metrics.containersStarted.inc(),
  });
  metrics.observeStatsHub(containers.statsHub);
  metrics.observeLogHub(containers.logHub);
  app.addHook("onClose", async () => containers.statsHub.closeAll());
  if (abandonedRunSweep) {
    const sweep = new AbandonedRunSweep(containers, app.log, abandonedRunSweep);
    app.addHook("onListen", async () => sweep.start());
    app.addHook("onClose", () => sweep.stop());
  }
  // Long-lived streams end when closing starts; unary calls get the grace period.
  const shutdown = new AbortController();
  app.addHook("preClose", async () => {
    shutdown.abort(refusal("shutting-down", "Osiris is shutting down; call again on another instance"));
    monitor.stop();
  });
  registerHostCheck(app, config.allowedHosts);
  registerDeadlineClamp(app);
  await registerBrowserOrigins(app, config.corsOrigins);
  registerProbes(app, monitor, engine.endpoint);
  if (config.ui) registerDashboardAssets(app, dashboardDirectory);
  app.get("/metrics", async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  // Unary calls in flight when closing starts get the grace period, then end
  // with UNAVAILABLE. connect-es links every call's signal to this one, one
  // listener per call: its limit is raised (past ten, Node would warn of a
  // leak), and only its own, not the process-wide default. Made here rather
  // than by connect-fastify (shutdownTimeoutMs), which keeps its signal to itself.
  const callsShutdown = new AbortController();
  setMaxListeners(100_000, callsShutdown.signal);
  app.addHook("preClose", async () => {
    // Unref'd: a process whose calls all ended may exit before the grace is over.
    setTimeout(
      () => callsShutdown.abort(refusal("shutting-down", "Osiris is shutting down; retry on another instance")),
      config.shutdownTimeoutMs,
    ).unref();
  });
  app.addHook("onRequest", (_request, reply, done) => {
    failStalledWriteOnClose(reply.raw);
    done();
  });
  const frontDoor = createFrontDoor(config.rateLimit, config.tokens, app.log);
  await app.register(fastifyConnectPlugin, {
    routes: routes({ containers, events, monitor, shutdown: shutdown.signal, authenticationRequired: config.tokens !== undefined }),
    // Outermost first: audit sees the final code of every call, including refusals;
    // callers without valid credentials are rate-limited before anything else reads their call.
    interceptors: [
      streamLifetimeInterceptor(),
      telemetryInterceptor(app.log, metrics),
      frontDoorInterceptor(frontDoor),
      auditInterceptor(app.log),
      accessControlInterceptor(config.tokens),
      rateLimitInterceptor(config.rateLimit),
      inFlightLimitInterceptor(config.maxInFlightPerPrincipal),
      streamLimitInterceptor(config.maxStreamsPerPrincipal),
      errorMappingInterceptor(app.log),
    ],
    contextValues: (request) => {
      const values = clientCertificateContext(request.raw);
      values.set(remoteAddressKey, remoteAddressOf(request.raw));
      return values;
    },
    // Runs before each body is read: refuses callers without credentials and
    // oversized probes unread, then makes undecodable bodies INVALID_ARGUMENT on every protocol.
    requestGate: credentialGate({ tokens: config.tokens, frontDoor, audit: app.log }, classifyDecodeFailures),
    // JSON that names an unknown field or enum value is refused, not half-read:
    // a misspelt "name" would get a random name, "protocol": "UDP" would publish TCP.
    // Binary protobuf keeps unknown fields, as proto3 wants for compatibility.
    jsonOptions: { ignoreUnknownFields: false },
    readMaxBytes: config.readMaxBytes,
    // Compressed requests are accepted, but answers go out uncompressed: on
    // the loopback and LAN links Osiris serves, gzip costs more CPU than the
    // bytes it saves (a 200 MB log follow ran at two thirds of the speed).
    compressMinBytes: Number.MAX_SAFE_INTEGER,
    shutdownSignal: callsShutdown.signal,
  });
  return app;
}

/**
 * connect-node writes an answer message by message and, when a write does not
 * flush at once, waits for "drain" or "error" on the response. When the client
 * vanishes during that wait, Node emits neither: it calls the pending write's
 * callback without an error and emits "close" (HTTP/1.1 and HTTP/2 alike, Node
 * 20). The wait would never end, and with it the call. Reporting the closed
 * connection as the write error it is lets connect finish the call; it then
 * treats ERR_STREAM_DESTROYED as a client that hung up (Code.Aborted, not logged).
 */
function failStalledWriteOnClose(response: NodeJS.EventEmitter & { writableFinished: boolean }): void {
  response.once("close", () => {
    // A "drain" listener is a writer still waiting; none means nothing is stuck.
    if (response.writableFinished || response.listenerCount("drain") === 0 || response.listenerCount("error") === 0) return;
    try {
      response.emit("error", Object.assign(new Error("The client closed the connection during the answer"), { code: "ERR_STREAM_DESTROYED" }));
    } catch {
      // A listener that throws must not take the process down with this connection.
    }
  });
}
