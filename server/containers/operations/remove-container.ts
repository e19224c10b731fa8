import { engineCall } from "../engine/engine-call.js";
import { ContainerNotFoundError } from "../errors.js";
import { inspectInScope, type EngineInScope } from "./container-lookup.js";

export interface RemoveOptions {
  /** Removes a running container too (the engine kills it first). */
  force: boolean;
  /** Removes its anonymous volumes too. */
  removeVolumes: boolean;
  /** A container that does not exist is no failure: `notFound` says so. */
  ignoreNotFound: boolean;
}

export interface RemoveResult {
  /** The removed container's full id; empty when it was not found. */
  id: string;
  notFound: boolean;
}

export async function removeContainer(target: EngineInScope, reference: string, options: RemoveOptions, signal: AbortSignal): Promise<RemoveResult> {
  const { engine } = target;
  try {
    const { Id: id } = await inspectInScope(target, reference, signal);
    await engineCall(engine, { kind: "remove-container", container: reference }, signal, () =>
      engine.removeContainer(id, { force: options.force, removeVolumes: options.removeVolumes }, signal),
    );
    return { id, notFound: false };
  } catch (error) {
    if (error instanceof ContainerNotFoundError && options.ignoreNotFound) return { id: "", notFound: true };
    throw error;
  }
}
