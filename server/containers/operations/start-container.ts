import { containerInfoFromInspect, type ContainerInfo } from "../container-info.js";
import { engineCall } from "../engine/engine-call.js";
import type { ContainerInspect } from "../engine/engine-client.js";
import { isFromCache } from "../cache/container-cache.js";
import { ContainerAlreadyRunningError, UnsafeMountsError } from "../errors.js";
import { refuseHostAccess } from "../policy/host-access.js";
import { inspectContainer, inspectInScope, type EngineInScope } from "./container-lookup.js";

export interface StartResult {
  container: ContainerInfo;
  alreadyRunning: boolean;
}

/** Starts a stopped container; one already running is ContainerAlreadyRunningError unless `ignoreAlreadyRunning`. */
export async function startContainer(
  target: EngineInScope,
  bindMountAllowlist: readonly string[],
  reference: string,
  ignoreAlreadyRunning: boolean,
  signal: AbortSignal,
): Promise<StartResult> {
  const { engine } = target;
  const before = await inspectInScope(target, reference, signal);
  // A cached State may be a moment old: then the engine's own 304 tells.
  let alreadyRunning = before.State.Running && !isFromCache(before);
  if (!alreadyRunning) {
    await refuseUnsafeMounts(target, bindMountAllowlist, reference, "start", before, signal);
    const outcome = await engineCall(engine, { kind: "start-container", container: reference }, signal, () =>
      engine.startContainer(before.Id, signal),
    );
    // "already-running": someone else started it since our inspect.
    alreadyRunning = outcome === "already-running";
  }
  if (alreadyRunning && !ignoreAlreadyRunning) throw new ContainerAlreadyRunningError(reference);
  return { container: containerInfoFromInspect(await inspectContainer(engine, before.Id, signal)), alreadyRunning };
}

/** Stops (with the grace period, or the container's own) and starts again, running or not. */
export async function restartContainer(
  target: EngineInScope,
  bindMountAllowlist: readonly string[],
  reference: string,
  timeoutSeconds: number | undefined,
  signal: AbortSignal,
): Promise<ContainerInfo> {
  const { engine } = target;
  const before = await inspectInScope(target, reference, signal);
  await refuseUnsafeMounts(target, bindMountAllowlist, reference, "restart", before, signal);
  await engineCall(engine, { kind: "restart-container", container: reference }, signal, () =>
    engine.restartContainer(before.Id, { timeoutSeconds }, signal),
  );
  return containerInfoFromInspect(await inspectContainer(engine, before.Id, signal));
}

/**
 * Every bind Osiris makes now is read-only, so no container can swap a bind
 * source. A container an older Osiris made with a writable bind could, and the
 * engine resolves the source again at each start: refuse to start it again.
 * Someone on the host can still swap a source (or the allowlist can shrink)
 * after the Run, so every bind is checked again as a Run would check it. The
 * engine's own restart policy restarts a container without asking Osiris; that
 * restart is out of Osiris's reach.
 */
async function refuseUnsafeMounts(
  { engine }: EngineInScope,
  bindMountAllowlist: readonly string[],
  reference: string,
  action: "start" | "restart",
  inspect: ContainerInspect,
  signal: AbortSignal,
): Promise<void> {
  const writableBind = inspect.Mounts.find((mount) => mount.Type === "bind" && mount.RW);
  if (writableBind) throw new UnsafeMountsError(reference, `a writable bind mount of ${JSON.stringify(writableBind.Source)}`);
  // Privileged, host namespaces, devices... and every bind checked again as a Run's would be.
  await refuseHostAccess(engine, bindMountAllowlist, reference, action, inspect, signal);
}
