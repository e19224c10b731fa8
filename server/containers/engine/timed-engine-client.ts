import type { EngineClient } from "./engine-client.js";

export type EngineCallObserver = (operation: string, seconds: number, outcome: "ok" | "error") => void;

type EngineMethod = Exclude<keyof EngineClient, "endpoint">;

/** Each method's engine request, as /metrics labels it (`{id}` and `{name}` stand for any container or image). */
const operations = {
  ping: "GET /_ping",
  info: "GET /info",
  listContainers: "GET /containers/json",
  inspectContainer: "GET /containers/{id}/json",
  createContainer: "POST /containers/create",
  startContainer: "POST /containers/{id}/start",
  stopContainer: "POST /containers/{id}/stop",
  killContainer: "POST /containers/{id}/kill",
  restartContainer: "POST /containers/{id}/restart",
  removeContainer: "DELETE /containers/{id}",
  waitContainer: "POST /containers/{id}/wait",
  containerLogs: "GET /containers/{id}/logs",
  events: "GET /events",
  containerStats: "GET /containers/{id}/stats",
  pullImage: "POST /images/create",
  inspectImage: "GET /images/{name}/json",
  inspectVolume: "GET /volumes/{id}",
  createVolume: "POST /volumes/create",
  createExec: "POST /containers/{id}/exec",
  startExec: "POST /exec/{id}/start",
  inspectExec: "GET /exec/{id}/json",
  listImages: "GET /images/json",
  removeImage: "DELETE /images/{name}",
} as const satisfies Record<EngineMethod, string>;

/**
 * The same engine, with every call timed and reported to `observe`, so no
 * call site needs to remember. A call that returns a stream is timed to the
 * stream's headers, when it resolves.
 */
export function timedEngineClient(engine: EngineClient, observe: EngineCallObserver): EngineClient {
  const timed: Record<string, unknown> = { endpoint: engine.endpoint };
  for (const [method, operation] of Object.entries(operations) as [EngineMethod, string][]) {
    const call = (engine[method] as (...args: unknown[]) => Promise<unknown>).bind(engine);
    timed[method] = (...args: unknown[]) => {
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1000;
      let pending: Promise<unknown>;
      try {
        pending = call(...args);
      } catch (error) {
        pending = Promise.reject(error);
      }
      return pending.then(
        (result) => {
          observe(operation, seconds(), "ok");
          return result;
        },
        (error: unknown) => {
          observe(operation, seconds(), "error");
          throw error;
        },
      );
    };
  }
  return timed as unknown as EngineClient;
}
