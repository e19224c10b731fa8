import type { FastifyInstance } from "fastify";
import type { Engine } from "./containers/engine.js";

/** How long readiness waits for the engine before calling it not ready. */
const engineProbeTimeoutMs = 2000;

/**
 * Plain HTTP probes for load balancers and Kubernetes: /healthz says the
 * process serves, /readyz that the engine answers too. Both stay open when
 * authentication is on, as probes carry no credentials.
 */
export function registerProbes(app: FastifyInstance, engine: Engine): void {
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    try {
      // dockerode forwards abortSignal on ping; its type definitions omit it.
      const ping = engine.docker.ping.bind(engine.docker) as (options: { abortSignal: AbortSignal }) => Promise<unknown>;
      await ping({ abortSignal: AbortSignal.timeout(engineProbeTimeoutMs) });
      return { status: "ready", engine: engine.endpoint };
    } catch {
      return reply.code(503).send({ status: "not ready", engine: engine.endpoint, reason: "Docker engine unreachable" });
    }
  });
}
