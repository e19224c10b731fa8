import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import type { FastifyInstance } from "fastify";
import type { AddressInfo } from "node:net";
import { buildApp, type AppConfig } from "../../server/app.js";
import { loadConfig } from "../../server/config.js";
import { DockerService } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { FakeEngine } from "./fake-engine.js";
import type { ProtocolName } from "./test-server.js";

export type { ProtocolName } from "./test-server.js";
/** The protocols test-server.ts serves; named here too, so that a fast test does not load dockerode. */
export const protocols: readonly ProtocolName[] = ["connect-json", "grpc", "grpc-web"];

export interface FastServerOptions {
  /** Settings as the environment gives them (`OSIRIS_RATE_LIMIT: "1"`); read by the real loadConfig. */
  env?: Record<string, string>;
  /** Settings already parsed, applied over `env`. */
  overrides?: Partial<AppConfig>;
  /** The engine; a fresh FakeEngine with the test image when unset. */
  engine?: FakeEngine;
}

export interface FastServer {
  app: FastifyInstance;
  engine: FakeEngine;
  baseUrl: string;
  port: number;
  /** Every line the server logged, as JSON text. */
  logLines: string[];
  client(protocol: ProtocolName): Client<typeof DockerService>;
  /**
   * Waits until the container cache has taken in what the engine's events
   * said (a test seeds the fake engine behind Osiris's back, as the docker CLI
   * would), then counts engine calls from zero.
   */
  cacheSettled(): Promise<void>;
  /** A client whose every call carries `Authorization: Bearer <token>`. */
  clientWithToken(protocol: ProtocolName, token: string): Client<typeof DockerService>;
  close(): Promise<void>;
}

/**
 * The real Osiris app (router, interceptors, container service) on a loopback
 * port of this process, over a FakeEngine: no root, no dockerd, milliseconds a call.
 */
export async function startFastServer(options: FastServerOptions = {}): Promise<FastServer> {
  const engine = options.engine ?? new FakeEngine();
  const config = loadConfig({
    OSIRIS_LOG_LEVEL: "info",
    // Tests call faster than any client should; the limit has tests of its own.
    OSIRIS_RATE_LIMIT: "1000",
    OSIRIS_SHUTDOWN_TIMEOUT_MS: "200",
    ...options.env,
  });
  const logLines: string[] = [];
  const app = await buildApp({ ...config, ...options.overrides }, { engine, logStream: { write: (line) => void logLines.push(line) } });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const baseUrl = `http://127.0.0.1:${port}`;
  await cacheServing(baseUrl);
  // Counted from here: a test's own calls, not the cache's first listing.
  engine.resetCalls();
  const transport = (protocol: ProtocolName, token?: string): Transport => {
    const interceptors = token === undefined ? [] : [bearer(token)];
    switch (protocol) {
      case "connect-json":
        return createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false, interceptors });
      case "grpc":
        return createGrpcTransport({ baseUrl, interceptors });
      case "grpc-web":
        return createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors });
    }
  };
  const transports = new Map<ProtocolName, Transport>();
  return {
    app,
    engine,
    baseUrl,
    port,
    logLines,
    client: (protocol) => {
      let shared = transports.get(protocol);
      if (!shared) transports.set(protocol, (shared = transport(protocol)));
      return createClient(DockerService, shared);
    },
    clientWithToken: (protocol, token) => createClient(DockerService, transport(protocol, token)),
    cacheSettled: async () => {
      await settled(baseUrl);
      engine.resetCalls();
    },
    close: () => app.close(),
  };
}

function bearer(token: string): Interceptor {
  return (next) => (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
}

/**
 * Waits until the container cache answers reads (or is off), so a test sees
 * the steady state: an engine whose containers Osiris already knows.
 */
async function cacheServing(baseUrl: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const text = await (await fetch(`${baseUrl}/metrics`)).text();
    const serving = /^osiris_container_cache_serving (\d)$/m.exec(text)?.[1];
    if (serving === undefined || serving === "1") return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the container cache did not start serving within 2 s");
}

/** Until the cache's version holds still for 100 ms (at most 3 s). */
async function settled(baseUrl: string): Promise<void> {
  let version = "";
  let still = 0;
  for (let attempt = 0; attempt < 120 && still < 4; attempt++) {
    const text = await (await fetch(`${baseUrl}/metrics`)).text();
    const now = /^osiris_container_cache_version (\S+)$/m.exec(text)?.[1] ?? "";
    still = now === version ? still + 1 : 0;
    version = now;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
