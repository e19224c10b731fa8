import { containerInfoFromInspect, type ContainerInfo } from "./container-info.js";
import type { EngineClient } from "./engine/engine-client.js";
import type { ImageReference } from "./grammar/image-reference.js";
import { sweepAbandonedRuns } from "./operations/abandoned-run-sweep.js";
import { listContainers, type ListPage, type ListQuery } from "./operations/container-listing.js";
import { inspectInScope, type EngineInScope, type Scope } from "./operations/container-lookup.js";
import { containerLogs, type LogChunk, type LogQuery } from "./operations/container-logs.js";
import { pullImage, type PullProgress, type PullResult } from "./operations/pull-image.js";
import { removeContainer, type RemoveOptions, type RemoveResult } from "./operations/remove-container.js";
import { ContainerRuns, type RunResult, type ServiceLog } from "./operations/run-container.js";
import { restartContainer, startContainer, type StartResult } from "./operations/start-container.js";
import { PlainRuns, stopContainer, type StopResult } from "./operations/stop-container.js";
import { waitContainer, type WaitCondition, type WaitResult } from "./operations/wait-container.js";
import { checkImageAllowed, type RunPolicy } from "./policy/run-policy.js";
import type { RegistryCredentials, RunSpec, StopSpec } from "./run-spec.js";

export type { ListCursor, ListPage, ListQuery } from "./operations/container-listing.js";
export type { LogChunk, LogQuery } from "./operations/container-logs.js";
export type { PullProgress, PullResult } from "./operations/pull-image.js";
export type { RemoveOptions, RemoveResult } from "./operations/remove-container.js";
export type { RunResult, ServiceLog } from "./operations/run-container.js";
export type { StartResult } from "./operations/start-container.js";
export type { StopResult } from "./operations/stop-container.js";
export type { WaitCondition, WaitResult } from "./operations/wait-container.js";

export interface ContainersOptions {
  /** "managed": only containers labelled io.osiris.managed=true exist for callers (OSIRIS_SCOPE). */
  scope: Scope;
  policy: RunPolicy;
  /** Labels (io.osiris.instance) what this process creates; several processes may share the engine. */
  instanceId: string;
  /** Keys the request_id digest (OSIRIS_REQUEST_DIGEST_KEY_FILE); see RunDigester. */
  requestDigestKey: Buffer;
  /** Told once per container a Run started and kept (osiris_containers_started_total); a retry that finds it is not told. */
  onContainerStarted?: () => void;
}

/**
 * The container service: every operation on the engine's containers and
 * images, one method each, in Docker's terms and nothing of HTTP or protobuf.
 * Each operation on one container first resolves the reference within the
 * configured scope (inspectInScope), so a container outside it is
 * ContainerNotFoundError. Every method takes the caller's AbortSignal: when it
 * fires, the method rejects with the signal's reason.
 */
export class Containers {
  private readonly target: EngineInScope;
  /** Containers Run made without auto_remove, which Stop knows need no scope inspect. */
  private readonly plainRuns = new PlainRuns();
  private readonly runs: ContainerRuns;

  constructor(
    private readonly engine: EngineClient,
    private readonly log: ServiceLog,
    private readonly options: ContainersOptions,
  ) {
    this.target = { engine, scope: options.scope };
    const { policy, instanceId, requestDigestKey, onContainerStarted = () => {} } = options;
    this.runs = new ContainerRuns(engine, log, { policy, instanceId, requestDigestKey, onContainerStarted }, this.plainRuns);
  }

  /** Creates and starts a container; a retry with the request's request_id gets the container the first call made. */
  run(spec: RunSpec, signal: AbortSignal): Promise<RunResult> {
    return this.runs.run(spec, signal);
  }

  stop(spec: StopSpec, signal: AbortSignal): Promise<StopResult> {
    return stopContainer(this.target, this.plainRuns, spec, signal);
  }

  async get(reference: string, signal: AbortSignal): Promise<ContainerInfo> {
    return containerInfoFromInspect(await inspectInScope(this.target, reference, signal));
  }

  list(query: ListQuery, signal: AbortSignal): Promise<ListPage> {
    return listContainers(this.target, query, signal);
  }

  start(reference: string, ignoreAlreadyRunning: boolean, signal: AbortSignal): Promise<StartResult> {
    return startContainer(this.target, this.options.policy.bindMountAllowlist, reference, ignoreAlreadyRunning, signal);
  }

  restart(reference: string, timeoutSeconds: number | undefined, signal: AbortSignal): Promise<ContainerInfo> {
    return restartContainer(this.target, this.options.policy.bindMountAllowlist, reference, timeoutSeconds, signal);
  }

  remove(reference: string, options: RemoveOptions, signal: AbortSignal): Promise<RemoveResult> {
    return removeContainer(this.target, reference, options, signal);
  }

  wait(reference: string, condition: WaitCondition, signal: AbortSignal): Promise<WaitResult> {
    return waitContainer(this.target, reference, condition, signal);
  }

  /** The container's output; the engine connection lives exactly as long as the iterator. */
  logs(query: LogQuery, signal: AbortSignal): AsyncGenerator<LogChunk> {
    return containerLogs(this.target, query, signal);
  }

  /** Pulls an image the policy allows, reporting the engine's progress as it comes. */
  pull(
    image: ImageReference,
    credentials: RegistryCredentials | undefined,
    signal: AbortSignal,
    onProgress: (progress: PullProgress) => void,
  ): Promise<PullResult> {
    checkImageAllowed(image, this.options.policy);
    return pullImage(this.engine, image, credentials, signal, onProgress);
  }

  /** Removes the containers Runs created and never started, older than `ageMs`; see AbandonedRunSweep. */
  sweepAbandonedRuns(ageMs: number): Promise<void> {
    return sweepAbandonedRuns(this.engine, this.log, ageMs);
  }
}
