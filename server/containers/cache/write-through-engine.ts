import type { EngineClient } from "../engine/engine-client.js";
import { isNotFound } from "../engine/engine-errors.js";
import type { ContainerCache } from "./container-cache.js";

/**
 * The engine, with every inspect answer and every removal told to the cache
 * as it happens. Every operation ends by inspecting what it changed (Run,
 * Start, Stop, Restart) or by removing it, so what a call returned OK is what
 * the next Get or List on this Osiris sees, without waiting for the event.
 */
export function writeThroughEngine(engine: EngineClient, cache: ContainerCache): EngineClient {
  return new Proxy(engine, {
    get(target, property, receiver) {
      if (property === "inspectContainer") {
        return async (reference: string, signal?: AbortSignal) => {
          const seq = cache.nextSequence();
          try {
            const inspect = await target.inspectContainer(reference, signal);
            cache.apply(inspect, seq);
            return inspect;
          } catch (error) {
            // Only a full id says which container is gone; a name may now be another's.
            if (isNotFound(error) && /^[0-9a-f]{64}$/.test(reference)) cache.forget(reference, seq);
            throw error;
          }
        };
      }
      if (property === "removeContainer") {
        return async (id: string, options: { force: boolean; removeVolumes: boolean }, signal?: AbortSignal) => {
          await target.removeContainer(id, options, signal);
          cache.forget(id, cache.nextSequence());
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
