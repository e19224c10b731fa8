import type { FastifyInstance } from "fastify";
import type { EngineMonitor } from "./containers/engine/engine-monitor.js";

/**
 * Plain HTTP probes for load balancers and Kubernetes: /healthz says the
 * process serves, /readyz that the engine answers too. Both stay open when
 * authentication is on, as probes carry no credentials.
 */
export function registerProbes(app: FastifyInstance, monitor: EngineMonitor, endpoint: string): void {
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    if (monitor.isReachable) return { status: "ready", engine: endpoint };
    return reply.code(503).send({ status: "not ready", engine: endpoint, reason: "Docker engine unreachable" });
  });
}
