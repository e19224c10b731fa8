import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import type { FastifyInstance } from "fastify";
import type { AddressInfo } from "node:net";
import { buildApp, type AppConfig } from "../../server/app.js";
import { loadConfig } from "../../server/config.js";
import { connectEngine } from "../../server/containers/engine/dockerode-engine-client.js";
import { defaultEngineEndpoint, type EngineClient } from "../../server/containers/engine/engine-client.js";
import { DockerService } from "../../gen/osiris/docker/v1/docker_management_pb.js";

export type ProtocolName = "connect-json" | "grpc" | "grpc-web";
export const protocols: ProtocolName[] = ["connect-json", "grpc", "grpc-web"];

export interface TestServer {
  app: FastifyInstance;
  engine: EngineClient;
  baseUrl: string;
  port: number;
  client(protocol: ProtocolName): Client<typeof DockerService>;
  close(): Promise<void>;
}

/** Every setting at its declared default, as an empty environment gives them. */
const defaultConfig = loadConfig({});

/** A real Osiris on a real loopback port, talking to a real engine. */
export async function startTestServer(
  engineEndpoint = process.env.DOCKER_HOST || defaultEngineEndpoint,
  overrides: Partial<AppConfig> = {},
  logStream?: { write(line: string): void },
): Promise<TestServer> {
  const engine = connectEngine(engineEndpoint);
  const app = await buildApp(
    {
      ...defaultConfig,
      logLevel: process.env.OSIRIS_TEST_LOG_LEVEL ?? "silent",
      shutdownTimeoutMs: 2000,
      // Tests call faster than any client should; the rate limit has tests of its own.
      rateLimit: { perSecond: 1000, burst: 2000 },
      ...overrides,
    },
    { engine, logStream },
  );
  await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const baseUrl = `http://127.0.0.1:${port}`;
  const transports: Record<ProtocolName, Transport> = {
    "connect-json": createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false }),
    grpc: createGrpcTransport({ baseUrl }),
    "grpc-web": createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
  };
  return {
    app,
    engine,
    baseUrl,
    port,
    client: (protocol) => createClient(DockerService, transports[protocol]),
    close: () => app.close(),
  };
}
