import { Code, ConnectError } from "@connectrpc/connect";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import { setMaxListeners } from "node:events";
import { pino } from "pino";
import Fastify, { LogController, type FastifyInstance, type FastifyServerFactory } from "fastify";
import type { Config } from "./config.js";
import { ContainerLifecycle } from "./containers/container-lifecycle.js";
import { ContainerService } from "./containers/container-service.js";
import { defaultEventHubOptions, EventHub } from "./containers/event-hub.js";
import type { Engine } from "./containers/engine.js";
import { registerBrowserOrigins } from "./browser-origins.js";
import { createDualProtocolServer } from "./listen.js";
import { EngineMonitor } from "./containers/engine-monitor.js";
import { observeEngineCalls } from "./containers/engine-calls.js";
import { Metrics } from "./observability/metrics.js";
import { telemetryInterceptor } from "./observability/telemetry.js";
import { registerProbes } from "./probes.js";
import { errorMappingInterceptor, routes } from "./rpc/routes.js";
import { accessControlInterceptor } from "./security/access-control.js";
import { clientCertificateContext } from "./security/client-certificate.js";
import { auditInterceptor } from "./security/audit-log.js";
import { rateLimitInterceptor } from "./security/rate-limit.js";
import { streamLimitInterceptor } from "./security/stream-limit.js";

export interface AppDependencies {
  engine: Engine;
  /** Where logs go; standard output when unset. Tests capture it. */
  logStream?: { write(line: string): void };
}

export type AppConfig = Pick<
  Config,
  "logLevel" | "tls" | "readMaxBytes" | "shutdownTimeoutMs" | "corsOrigins" | "tokens" | "scope" | "runPolicy" | "rateLimit" | "maxStreamsPerPrincipal" | "eventReconnectWindowMs"
>;

/**
 * Log lines go to standard output without a write call each: under load the
 * one-line-per-RPC log would otherwise cost a system call per request. Lines
 * written while one write is in flight are sent together with the next.
 */
const standardOutput = pino.destination({ dest: 1, sync: false });

/** The Fastify app with every route registered; it does not listen, so tests can use it directly. */
export async function buildApp(config: AppConfig, { engine, logStream }: AppDependencies): Promise<FastifyInstance> {
  const serverFactory = ((handler: Parameters<typeof createDualProtocolServer>[0]) =>
    createDualProtocolServer(handler, config.tls, config.shutdownTimeoutMs)) as unknown as FastifyServerFactory;
  // serverFactory hands Fastify our dual-protocol server; its typings cannot follow that.
  const app = Fastify({
    logger: { level: config.logLevel, stream: logStream ?? standardOutput },
    serverFactory,
    // The request-log interceptor writes one line per RPC instead.
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance;
  if (!logStream) app.addHook("onClose", async () => standardOutput.flushSync());
  const containers = new ContainerService(engine, app.log, { scope: config.scope, policy: config.runPolicy });
  const lifecycle = new ContainerLifecycle(engine, containers, config.scope);
  const events = new EventHub(engine, {
    ...defaultEventHubOptions,
    scope: config.scope,
    reconnectWindowMs: config.eventReconnectWindowMs ?? defaultEventHubOptions.reconnectWindowMs,
  });
  const metrics = new Metrics();
  metrics.observeEventHub(events);
  observeEngineCalls(engine, (operation, seconds, outcome) => metrics.engineSeconds.observe({ operation, outcome }, seconds));
  const monitor = new EngineMonitor(engine);
  await monitor.start();
  // Long-lived streams end when closing starts; unary calls get the grace period.
  const shutdown = new AbortController();
  app.addHook("preClose", async () => {
    shutdown.abort(new ConnectError("Osiris is shutting down; call again on another instance", Code.Unavailable));
    monitor.stop();
  });
  await registerBrowserOrigins(app, config.corsOrigins);
  registerProbes(app, monitor, engine.endpoint);
  app.get("/metrics", async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  // connect-es links every in-flight call's signal to one shutdown signal made
  // here, one listener per call; past ten calls Node would warn of a leak.
  setMaxListeners(100_000);
  await app.register(fastifyConnectPlugin, {
    routes: routes({ containers, lifecycle, events, monitor, shutdown: shutdown.signal }),
    // Outermost first: audit sees the final code of every call, including refusals.
    interceptors: [
      telemetryInterceptor(app.log, metrics),
      auditInterceptor(app.log),
      accessControlInterceptor(config.tokens),
      rateLimitInterceptor(config.rateLimit),
      streamLimitInterceptor(config.maxStreamsPerPrincipal),
      errorMappingInterceptor(app.log),
    ],
    contextValues: (request) => clientCertificateContext(request.raw),
    readMaxBytes: config.readMaxBytes,
    // Compressed requests are accepted, but answers go out uncompressed: on
    // the loopback and LAN links Osiris serves, gzip costs more CPU than the
    // bytes it saves (a 200 MB log follow ran at two thirds of the speed).
    compressMinBytes: Number.MAX_SAFE_INTEGER,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    shutdownError: new ConnectError("Osiris is shutting down; retry on another instance", Code.Unavailable),
  });
  return app;
}
