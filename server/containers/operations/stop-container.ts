import { containerInfoFromInspect, type ContainerInfo } from "../container-info.js";
import { abortable } from "../engine/abortable.js";
import { engineCall } from "../engine/engine-call.js";
import type { ContainerInspect, ContainerWaitResponse, EngineClient } from "../engine/engine-client.js";
import { isFromCache } from "../cache/container-cache.js";
import { ContainerAlreadyStoppedError, ContainerNotFoundError } from "../errors.js";
import type { StopSpec } from "../run-spec.js";
import { inspectContainer, inspectInScope, type EngineInScope } from "./container-lookup.js";

/** The engine's grace period when neither the request nor the container sets one. */
const engineDefaultStopTimeoutSeconds = 10;

export interface StopResult {
  container: ContainerInfo;
  alreadyStopped: boolean;
}

/**
 * Stops a running container: its stop signal (or the requested one), the
 * grace period, then SIGKILL, as `docker stop` does. One that is not running
 * is ContainerAlreadyStoppedError, unless the request ignores that.
 */
export async function stopContainer(target: EngineInScope, plainRuns: PlainRuns, spec: StopSpec, signal: AbortSignal): Promise<StopResult> {
  const { engine } = target;
  if (spec.signal === undefined && plainRuns.has(spec.container)) return stopPlainRun(engine, plainRuns, spec, signal);
  let before = await abortable(inspectInScope(target, spec.container, signal), signal);
  if (isFromCache(before)) {
    // A cached State may be a moment old. A plain stop asks the engine, whose
    // 304 says "already stopped"; a stop by signal cannot tell, so it inspects.
    if (spec.signal !== undefined) before = await inspectContainer(engine, before.Id, signal);
  } else if (!before.State.Running) {
    return alreadyStopped(spec, before);
  }
  if (spec.signal !== undefined && !before.State.Running) return alreadyStopped(spec, before);
  // An auto-remove container vanishes on exit; only a wait registered
  // beforehand learns its exit code.
  const removal = before.HostConfig.AutoRemove
    ? engineCall(engine, { kind: "wait-container", container: spec.container }, signal, () =>
        engine.waitContainer(before.Id, "removed", signal),
      ).catch(() => undefined)
    : undefined;
  const outcome =
    spec.signal === undefined
      ? await engineCall(engine, { kind: "stop-container", container: spec.container }, signal, () =>
          engine.stopContainer(before.Id, { timeoutSeconds: spec.timeoutSeconds }, signal),
        )
      : await stopWithSignal(engine, spec, spec.signal, before, signal);
  if (outcome === "already-stopped") {
    // It stopped on its own between our inspect and our stop.
    return alreadyStopped(spec, await inspectContainer(engine, before.Id, signal));
  }
  return { container: await inspectAfterStop(engine, before, removal, signal), alreadyStopped: false };
}

/**
 * A container this Osiris ran without auto_remove, named by its full id: it
 * is managed and its labels cannot change, so the scope check needs no
 * inspect first. Stop, then inspect once for the answer, as `docker stop`
 * followed by `docker inspect` would.
 */
async function stopPlainRun(engine: EngineClient, plainRuns: PlainRuns, spec: StopSpec, signal: AbortSignal): Promise<StopResult> {
  let outcome: "stopped" | "already-stopped";
  try {
    outcome = await engineCall(engine, { kind: "stop-container", container: spec.container }, signal, () =>
      engine.stopContainer(spec.container, { timeoutSeconds: spec.timeoutSeconds }, signal),
    );
  } catch (error) {
    if (error instanceof ContainerNotFoundError) plainRuns.delete(spec.container);
    throw error;
  }
  const after = await inspectContainer(engine, spec.container, signal);
  return outcome === "already-stopped" ? alreadyStopped(spec, after) : { container: containerInfoFromInspect(after), alreadyStopped: false };
}

/** The one answer to a container that was not running, however that was found out. */
function alreadyStopped(spec: StopSpec, inspect: ContainerInspect): StopResult {
  if (!spec.ignoreAlreadyStopped) throw new ContainerAlreadyStoppedError(spec.container);
  return { container: containerInfoFromInspect(inspect), alreadyStopped: true };
}

/**
 * `docker stop --signal` by hand: the engine API before 1.42 ignores the
 * signal parameter of /stop, so send it, wait out the grace period, then
 * SIGKILL, which is what the engine does internally. A container that is no
 * longer running when a signal is sent is what we want.
 */
async function stopWithSignal(
  engine: EngineClient,
  spec: StopSpec,
  stopSignal: string,
  before: ContainerInspect,
  signal: AbortSignal,
): Promise<"stopped"> {
  const graceSeconds = spec.timeoutSeconds ?? before.Config.StopTimeout ?? engineDefaultStopTimeoutSeconds;
  const kill = (killSignal: string) =>
    engineCall(engine, { kind: "kill-container", container: spec.container }, signal, () => engine.killContainer(before.Id, killSignal, signal));
  const notRunning = (waitSignal: AbortSignal) =>
    engineCall(engine, { kind: "wait-container", container: spec.container }, waitSignal, () =>
      engine.waitContainer(before.Id, "not-running", waitSignal),
    );
  await kill(stopSignal);
  const graceOver = AbortSignal.timeout(graceSeconds * 1000);
  try {
    await notRunning(AbortSignal.any([signal, graceOver]));
    return "stopped";
  } catch (error) {
    if (signal.aborted || !graceOver.aborted) throw error;
  }
  await kill("SIGKILL");
  await notRunning(signal);
  return "stopped";
}

async function inspectAfterStop(
  engine: EngineClient,
  before: ContainerInspect,
  removal: Promise<ContainerWaitResponse | undefined> | undefined,
  signal: AbortSignal,
): Promise<ContainerInfo> {
  // Answering before the engine finishes removing would report REMOVING.
  const removed = removal ? await abortable(removal, signal) : undefined;
  try {
    return containerInfoFromInspect(await inspectContainer(engine, before.Id, signal));
  } catch (error) {
    if (!(error instanceof ContainerNotFoundError) || !removal) throw error;
    return {
      ...containerInfoFromInspect(before),
      state: "exited",
      exitCode: removed?.StatusCode ?? 0,
      ports: [],
      finishedAt: new Date().toISOString(),
    };
  }
}

/**
 * Ids of the containers this process ran without auto_remove, which Stop may
 * stop with no scope inspect first (see stopPlainRun). Forgets the oldest
 * once full.
 */
export class PlainRuns {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity = 10_000) {}
  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value as string);
  }
  has(id: string): boolean {
    return this.ids.has(id);
  }
  delete(id: string): void {
    this.ids.delete(id);
  }
}
