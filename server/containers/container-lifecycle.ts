import type { ContainerInspectInfo } from "dockerode";
import { abortReason } from "./abortable.js";
import type { ContainerInfo } from "./container-info.js";
import type { ContainerService } from "./container-service.js";
import { listContainers, type ListPage, type ListQuery } from "./container-listing.js";
import { containerLogs, type LogChunk, type LogQuery } from "./container-logs.js";
import { containerInfoFromInspect } from "./container-view.js";
import { engineContainer, type Engine } from "./engine.js";
import { translateEngineError, type EngineOperation } from "./engine-errors.js";
import { ContainerAlreadyRunningError, ContainerNotFoundError, UnsafeMountsError } from "./errors.js";

export type WaitCondition = "not-running" | "next-exit" | "removed";

export interface WaitResult {
  exitCode: number;
  error: string;
}

/**
 * Get, list, start, restart, remove, wait and logs: the container operations after Run. Each
 * first resolves the reference within the server's scope, so a container
 * outside it is NOT_FOUND, then acts on the full id.
 */
export class ContainerLifecycle {
  constructor(
    private readonly engine: Engine,
    private readonly containers: ContainerService,
    private readonly scope: "managed" | "all",
  ) {}

  async get(reference: string, signal: AbortSignal): Promise<ContainerInfo> {
    return containerInfoFromInspect(await this.containers.inspectInScope(reference, signal));
  }

  async start(
    reference: string,
    ignoreAlreadyRunning: boolean,
    signal: AbortSignal,
  ): Promise<{ container: ContainerInfo; alreadyRunning: boolean }> {
    const before = await this.containers.inspectInScope(reference, signal);
    let alreadyRunning = before.State.Running;
    if (!alreadyRunning) {
      refuseUnsafeMounts(reference, before);
      try {
        await engineContainer(this.engine, before.Id).start({ abortSignal: signal });
      } catch (error) {
        // 304: it was started by someone else since our inspect.
        if ((error as { statusCode?: number }).statusCode === 304) alreadyRunning = true;
        else throw this.translate(error, signal, { kind: "start-container" });
      }
    }
    if (alreadyRunning && !ignoreAlreadyRunning) throw new ContainerAlreadyRunningError(reference);
    return { container: containerInfoFromInspect(await this.containers.inspect(before.Id, signal)), alreadyRunning };
  }

  async restart(reference: string, timeoutSeconds: number | undefined, signal: AbortSignal): Promise<ContainerInfo> {
    const before = await this.containers.inspectInScope(reference, signal);
    refuseUnsafeMounts(reference, before);
    try {
      const options = timeoutSeconds === undefined ? { abortSignal: signal } : { t: timeoutSeconds, abortSignal: signal };
      await engineContainer(this.engine, before.Id).restart(options);
    } catch (error) {
      throw this.translate(error, signal, { kind: "restart-container", container: reference });
    }
    return containerInfoFromInspect(await this.containers.inspect(before.Id, signal));
  }

  async remove(
    reference: string,
    options: { force: boolean; removeVolumes: boolean; ignoreNotFound: boolean },
    signal: AbortSignal,
  ): Promise<{ id: string; notFound: boolean }> {
    try {
      const { Id: id } = await this.containers.inspectInScope(reference, signal);
      try {
        await engineContainer(this.engine, id).remove({ force: options.force, v: options.removeVolumes, abortSignal: signal });
      } catch (error) {
        throw this.translate(error, signal, { kind: "remove-container", container: reference });
      }
      return { id, notFound: false };
    } catch (error) {
      if (error instanceof ContainerNotFoundError && options.ignoreNotFound) return { id: "", notFound: true };
      throw error;
    }
  }

  /** Blocks until the condition holds; the engine request ends with the caller's signal. */
  async wait(reference: string, condition: WaitCondition, signal: AbortSignal): Promise<WaitResult> {
    const { Id: id } = await this.containers.inspectInScope(reference, signal);
    try {
      const result = (await engineContainer(this.engine, id).wait({ condition, abortSignal: signal })) as {
        StatusCode?: number;
        Error?: { Message?: string } | null;
      };
      return { exitCode: result.StatusCode ?? 0, error: result.Error?.Message ?? "" };
    } catch (error) {
      throw this.translate(error, signal, { kind: "wait-container", container: reference });
    }
  }

  logs(query: LogQuery, signal: AbortSignal): AsyncGenerator<LogChunk> {
    return containerLogs(this.engine, this.containers, query, signal);
  }

  list(query: ListQuery, signal: AbortSignal): Promise<ListPage> {
    return listContainers(this.engine, (id, inspectSignal) => this.containers.inspect(id, inspectSignal), this.scope, query, signal);
  }

  private translate(error: unknown, signal: AbortSignal, operation: EngineOperation): Error {
    if (signal.aborted) return abortReason(signal);
    return translateEngineError(error, operation, this.engine.endpoint);
  }
}

/**
 * Every bind Osiris makes now is read-only, so no container can swap a bind
 * source. A container an older Osiris made with a writable bind could, and the
 * engine resolves the source again at each start: refuse to start it again.
 */
function refuseUnsafeMounts(reference: string, inspect: ContainerInspectInfo): void {
  const writableBind = inspect.Mounts.find((mount) => mount.Type === "bind" && mount.RW);
  if (writableBind) throw new UnsafeMountsError(reference, `a writable bind mount of ${JSON.stringify(writableBind.Source)}`);
}
