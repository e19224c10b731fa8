// The protocol floor: the same grpc.health.v1 handler Osiris serves, on the
// bare connectNodeAdapter and http2.createServer, with no Fastify and no
// interceptors. bench/scenarios/throughput.ts compares Osiris against it.
import http2 from "node:http2";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { EngineMonitor } from "../server/containers/engine/engine-monitor.js";
import { connectEngine } from "../server/containers/engine/dockerode-engine-client.js";
import { healthHandlers } from "../server/rpc/health-service.js";
import { Health } from "../gen/grpc/health/v1/health_pb.js";

const monitor = new EngineMonitor(connectEngine());
await monitor.start();
const handler = connectNodeAdapter({
  routes: (router) => router.service(Health, healthHandlers(monitor, new AbortController().signal)),
});
const server = http2.createServer(handler);
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  console.log(`bare health server listening on ${JSON.stringify(server.address())}`);
});
process.on("SIGTERM", () => {
  monitor.stop();
  server.close();
  process.exit(0);
});
