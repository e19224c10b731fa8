import type { ContainerCache } from "../cache/container-cache.js";
import { engineCall } from "../engine/engine-call.js";
import type { ContainerInspect, ContainerSummary, EngineClient } from "../engine/engine-client.js";
import { AmbiguousContainerReferenceError, ContainerNotFoundError } from "../errors.js";
import { managedLabel } from "../grammar/labels.js";
import type { Scope } from "../scope.js";

export type { Scope } from "../scope.js";

/** The engine, and which of its containers callers may see. */
export interface EngineInScope {
  engine: EngineClient;
  scope: Scope;
  /** Answers lookups from memory while it serves; see isFromCache for what that means to an operation. */
  cache?: ContainerCache;
}

/** Inspects by name, id or id prefix; ContainerNotFoundError when absent. Sees every container: see inspectInScope. */
export function inspectContainer(engine: EngineClient, reference: string, signal?: AbortSignal): Promise<ContainerInspect> {
  return engineCall(engine, { kind: "inspect-container", container: reference }, signal, () => engine.inspectContainer(reference, signal));
}

/** Every managed container, in any state, that also matches `filters` (engine filters). */
export function listManaged(engine: EngineClient, filters: Record<string, string[]> = {}, signal?: AbortSignal): Promise<ContainerSummary[]> {
  const managed = { ...filters, label: [...(filters.label ?? []), `${managedLabel}=true`] };
  return engineCall(engine, { kind: "list-containers" }, signal, () => engine.listContainers({ all: true, filters: managed }, signal));
}

/**
 * The scope check every operation on one container starts with: like
 * inspectContainer, but a container outside the configured scope does not
 * exist. In the managed scope an id prefix is resolved among managed
 * containers only: the engine's "matches several containers" would reveal
 * unmanaged ones, and a prefix unique among the containers the caller can see
 * is the one the caller meant. While the cache serves, a container it holds
 * is answered from memory (only in-scope containers are ever cached); one it
 * does not hold is asked of the engine, whose NOT_FOUND is the final word.
 */
export async function inspectInScope({ engine, scope, cache }: EngineInScope, reference: string, signal?: AbortSignal): Promise<ContainerInspect> {
  const cached = cache?.lookup(reference);
  if (cached) return cached;
  let inspect: ContainerInspect;
  try {
    inspect = await inspectContainer(engine, reference, signal);
  } catch (error) {
    if (!(error instanceof AmbiguousContainerReferenceError) || scope !== "managed") throw error;
    inspect = await inspectManagedByPrefix(engine, reference, signal);
  }
  if (scope === "managed" && inspect.Config.Labels?.[managedLabel] !== "true") {
    throw new ContainerNotFoundError(reference);
  }
  return inspect;
}

async function inspectManagedByPrefix(engine: EngineClient, prefix: string, signal?: AbortSignal): Promise<ContainerInspect> {
  const matches = (await listManaged(engine, {}, signal)).filter((container) => container.Id.startsWith(prefix));
  if (matches.length > 1) throw new AmbiguousContainerReferenceError(prefix);
  if (matches.length === 0) throw new ContainerNotFoundError(prefix);
  try {
    return await inspectContainer(engine, matches[0]!.Id, signal);
  } catch (error) {
    // Removed since the listing: as absent as if it never matched.
    throw error instanceof ContainerNotFoundError ? new ContainerNotFoundError(prefix) : error;
  }
}
