import { abortReason } from "./abortable.js";
import type { EngineClient } from "./engine-client.js";
import { translateEngineError, type EngineOperation } from "./engine-errors.js";

/**
 * Every engine call goes through here. When the caller's signal has fired,
 * the call fails with the signal's reason (a deadline, a client that left,
 * shutdown), whatever the aborted request itself reported; any other failure
 * becomes the container service's error for `operation` (engine-errors.ts).
 */
export async function engineCall<T>(
  engine: EngineClient,
  operation: EngineOperation,
  signal: AbortSignal | undefined,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw engineFailure(engine, operation, signal, error);
  }
}

/** What engineCall fails with; for failures while reading a stream the engine sends, where there is no one call to wrap. */
export function engineFailure(engine: EngineClient, operation: EngineOperation, signal: AbortSignal | undefined, error: unknown): Error {
  if (signal?.aborted) return abortReason(signal);
  return translateEngineError(error, operation, engine.endpoint);
}
