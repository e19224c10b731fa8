import { engineCall } from "../engine/engine-call.js";
import type { EngineWaitCondition } from "../engine/engine-client.js";
import { inspectInScope, type EngineInScope } from "./container-lookup.js";

/** "not-running": returns at once for a stopped container; "next-exit": waits for the next exit; "removed": for its removal. */
export type WaitCondition = EngineWaitCondition;

export interface WaitResult {
  exitCode: number;
  /** The engine's error for the exit, if it reported one. */
  error: string;
}

/** Blocks until the condition holds; the engine request ends with the caller's signal. */
export async function waitContainer(target: EngineInScope, reference: string, condition: WaitCondition, signal: AbortSignal): Promise<WaitResult> {
  const { engine } = target;
  const { Id: id } = await inspectInScope(target, reference, signal);
  const result = await engineCall(engine, { kind: "wait-container", container: reference }, signal, () => engine.waitContainer(id, condition, signal));
  return { exitCode: result.StatusCode ?? 0, error: result.Error?.Message ?? "" };
}
