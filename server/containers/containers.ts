import type { ContainerCache } from "./cache/container-cache.js";
import { writeThroughEngine } from "./cache/write-through-engine.js";
import { containerInfoFromInspect, type ContainerInfo } from "./container-info.js";
import type { EngineClient } from "./engine/engine-client.js";
import { defaultEventHubOptions, EventHub } from "./events/event-hub.js";
import type { ImageReference } from "./grammar/image-reference.js";
import { sweepAbandonedRuns } from "./operations/abandoned-run-sweep.js";
import { listContainers, listInspected, type ListPage, type ListQuery } from "./operations/container-listing.js";
import { inspectInScope, type EngineInScope, type Scope } from "./operations/container-lookup.js";
import { LogHub } from "./logs/log-hub.js";
import { containerLogs, type LogChunk, type LogQuery } from "./operations/container-logs.js";
import { execInContainer, type ExecResult, type ExecSettings, type ExecSpec } from "./operations/exec-in-container.js";
import { listImages, type ImageInfo } from "./operations/list-images.js";
import { pullImage, type PullProgress, type PullResult } from "./operations/pull-image.js";
import { removeContainer, type RemoveOptions, type RemoveResult } from "./operations/remove-container.js";
import { removeImage, type RemoveImageResult } from "./operations/remove-image.js";
import { ContainerRuns, type RunResult, type ServiceLog } from "./operations/run-container.js";
import { restartContainer, startContainer, type StartResult } from "./operations/start-container.js";
import { PlainRuns, stopContainer, type StopResult } from "./operations/stop-container.js";
import { waitContainer, type WaitCondition, type WaitResult } from "./operations/wait-container.js";
import { checkImageAllowed, type RunPolicy } from "./policy/run-policy.js";
import { containerStats, type StatsQuery } from "./stats/container-stats.js";
import { OneShotSampler } from "./stats/one-shot-sampler.js";
import { StatsHub } from "./stats/stats-hub.js";
import type { StatsUpdate } from "./stats/stats-watcher.js";
import type { RegistryCredentials, RunSpec, StopSpec } from "./run-spec.js";

export type { ListCursor, ListPage, ListQuery } from "./operations/container-listing.js";
export type { LogChunk, LogQuery } from "./operations/container-logs.js";
export type { StatsQuery } from "./stats/container-stats.js";
export type { StatsFigures } from "./stats/stats-figures.js";
export type { LeaveReason, StatsUpdate } from "./stats/stats-watcher.js";
export type { ExecResult, ExecSettings, ExecSpec } from "./operations/exec-in-container.js";
export type { ImageInfo, ImageTag, ImageUser } from "./operations/list-images.js";
export type { RemoveImageResult } from "./operations/remove-image.js";
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
  /** OSIRIS_EXEC and OSIRIS_EXEC_MAX_OUTPUT_BYTES; exec on, with a 1 MiB cap per stream, when unset. */
  exec?: ExecSettings;
  /** Answers Get, List and every scope check from memory while it serves; every inspect and removal is written through to it. */
  cache?: ContainerCache;
  /** The shared event subscription, which tells a stats stream of every container which start and stop; a hub of its own when unset. */
  events?: EventHub;
}

/** How fresh a read must be: "cached" may be up to about a second behind changes made outside this Osiris. */
export type ReadConsistency = "cached" | "fresh";

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
  /** One engine stats stream per watched container, shared by every caller; /metrics reads it. */
  readonly statsHub: StatsHub;
  /** One engine log connection per followed container, shared by every follower; /metrics reads it. */
  readonly logHub: LogHub;
  private readonly oneShotStats: OneShotSampler;
  private readonly events: EventHub;

  private readonly engine: EngineClient;

  constructor(
    engine: EngineClient,
    private readonly log: ServiceLog,
    private readonly options: ContainersOptions,
  ) {
    const { cache } = options;
    this.engine = engine = cache ? writeThroughEngine(engine, cache) : engine;
    this.target = { engine, scope: options.scope, cache };
    const { policy, instanceId, requestDigestKey, onContainerStarted = () => {} } = options;
    this.runs = new ContainerRuns(engine, log, { policy, instanceId, requestDigestKey, onContainerStarted }, this.plainRuns);
    this.statsHub = new StatsHub(engine);
    this.logHub = new LogHub(engine);
    this.oneShotStats = new OneShotSampler(engine, this.statsHub);
    this.events = options.events ?? new EventHub(engine, { ...defaultEventHubOptions, scope: options.scope });
  }

  /** Creates and starts a container; a retry with the request's request_id gets the container the first call made. */
  run(spec: RunSpec, signal: AbortSignal): Promise<RunResult> {
    return this.runs.run(spec, signal);
  }

  stop(spec: StopSpec, signal: AbortSignal): Promise<StopResult> {
    return stopContainer(this.target, this.plainRuns, spec, signal);
  }

  async get(reference: string, consistency: ReadConsistency, signal: AbortSignal): Promise<ContainerInfo> {
    const target = consistency === "fresh" ? { ...this.target, cache: undefined } : this.target;
    return containerInfoFromInspect(await inspectInScope(target, reference, signal));
  }

  /** From memory while the cache serves (no engine call at all), else from the engine, with the same order and cursors. */
  async list(query: ListQuery, signal: AbortSignal): Promise<ListPage> {
    const cached = this.options.cache?.all();
    return cached ? listInspected(cached, this.options.scope, query) : listContainers(this.target, query, signal);
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
    return containerLogs(this.target, this.logHub, query, signal);
  }

  /**
   * Resource use of containers in scope, like `docker stats`: one engine
   * stats stream per container however many callers watch it, held as long
   * as someone iterates (and 10 s after a one-shot call); see containerStats.
   */
  stats(query: StatsQuery, signal: AbortSignal): AsyncGenerator<StatsUpdate> {
    return containerStats({ target: this.target, hub: this.statsHub, sampler: this.oneShotStats, events: this.events }, query, signal);
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

  /** Runs a command in a running container and returns its exit code and output; see execInContainer. */
  exec(spec: ExecSpec, signal: AbortSignal): Promise<ExecResult> {
    const settings = this.options.exec ?? { enabled: true, defaultMaxOutputBytes: 1024 * 1024 };
    return execInContainer(this.target, settings, this.options.policy.bindMountAllowlist, this.log, spec, signal);
  }

  /** Every local image, with the containers in scope that use it. */
  listImages(signal: AbortSignal): Promise<ImageInfo[]> {
    return listImages(this.target, signal);
  }

  /** Removes an image (or one of its names) the policy allows. */
  removeImage(image: ImageReference, force: boolean, signal: AbortSignal): Promise<RemoveImageResult> {
    return removeImage(this.target, this.options.policy, image, force, signal);
  }

  /** Removes the containers Runs created and never started, older than `ageMs`; see AbandonedRunSweep. */
  sweepAbandonedRuns(ageMs: number): Promise<void> {
    return sweepAbandonedRuns(this.engine, this.log, ageMs);
  }
}
