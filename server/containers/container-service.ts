import type { ContainerInspectInfo } from "dockerode";
import { randomBytes } from "node:crypto";
import { abortable, abortReason } from "./abortable.js";
import { checkBindMounts } from "./bind-mounts.js";
import { ContainerCap } from "./container-cap.js";
import type { ContainerInfo } from "./container-info.js";
import { containerInfoFromInspect } from "./container-view.js";
import { createOptions } from "./create-options.js";
import { engineContainer, type Engine } from "./engine.js";
import { translateEngineError, type EngineOperation } from "./engine-errors.js";
import { requestEngine } from "./engine-request.js";
import {
  AmbiguousContainerReferenceError,
  ContainerAlreadyStoppedError,
  ContainerNotFoundError,
  ImageNotFoundError,
  RequestIdReusedError,
} from "./errors.js";
import { ImagePuller, type PullProgress, type PullResult } from "./image-puller.js";
import type { ImageReference } from "./image-reference.js";
import { instanceLabel, managedLabel, newInstanceId, requestDigestKeyLabel, requestDigestLabel, requestIdLabel } from "./labels.js";
import { RunDigester } from "./run-digest.js";
import { checkImageAllowed, checkRunPolicy, openRunPolicy, type RunPolicy } from "./run-policy.js";
import type { RegistryCredentials, RunSpec, StopSpec } from "./run-spec.js";
import { claimVolumes } from "./volume-claims.js";

/** The engine's grace period when neither the request nor the container sets one. */
const engineDefaultStopTimeoutSeconds = 10;

export interface RunResult {
  container: ContainerInfo;
  warnings: string[];
}

export interface StopResult {
  container: ContainerInfo;
  alreadyStopped: boolean;
}

export interface ContainerServiceOptions {
  /** "managed": only containers labelled io.osiris.managed=true exist for callers. */
  scope: "managed" | "all";
  policy: RunPolicy;
  /** Labels (io.osiris.instance) what this process creates; several processes may share the engine. */
  instanceId: string;
  /** Keys the request_id digest (OSIRIS_REQUEST_DIGEST_KEY_FILE); see RunDigester. */
  requestDigestKey: Buffer;
}

/** Where the container service reports what the caller never sees (rollbacks, cleanups). */
export interface ServiceLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/**
 * Runs and stops containers on one engine. Knows Docker, nothing of HTTP or
 * protobuf. Every method takes the caller's AbortSignal: when it fires the
 * method rejects at once with the signal's reason, and any container it had
 * begun to make is removed in the background.
 */
export class ContainerService {
  readonly images: ImagePuller;
  /** Runs with a request_id still under way, so concurrent retries share one. */
  private readonly runsInFlight = new Map<string, { digest: string; result: Promise<RunResult> }>();
  /** Ids of containers Run made that stop with no extra inspect; see stopContainer. */
  private readonly plainRuns = new BoundedIdSet(10_000);
  private readonly digester: RunDigester;
  private readonly cap: ContainerCap;

  constructor(
    private readonly engine: Engine,
    private readonly log: ServiceLog,
    private readonly options: ContainerServiceOptions = {
      scope: "managed",
      policy: openRunPolicy,
      instanceId: newInstanceId(),
      requestDigestKey: randomBytes(32),
    },
  ) {
    this.images = new ImagePuller(engine);
    this.digester = new RunDigester(options.requestDigestKey);
    this.cap = new ContainerCap(options.policy.maxManagedContainers, async (signal) => (await this.listManaged({}, signal)).length);
  }

  async runContainer(spec: RunSpec, signal: AbortSignal): Promise<RunResult> {
    signal.throwIfAborted();
    if (spec.requestId === undefined) return this.runOnce(spec, {}, signal);
    const requestId = spec.requestId;
    const digest = this.digester.digest(spec);
    const inFlight = this.runsInFlight.get(requestId);
    if (inFlight) {
      if (inFlight.digest !== digest) throw new RequestIdReusedError(requestId);
      return abortable(inFlight.result, signal);
    }
    const result = this.runIdempotently(spec, requestId, digest, signal);
    this.runsInFlight.set(requestId, { digest, result });
    const forget = () => this.runsInFlight.delete(requestId);
    result.then(forget, forget);
    return result;
  }

  /** A retry finds the container an earlier call with this key made, if it still exists. */
  private async runIdempotently(spec: RunSpec, requestId: string, digest: string, signal: AbortSignal): Promise<RunResult> {
    const [earlier] = await abortable(this.listManaged({ label: [`${requestIdLabel}=${requestId}`] }, signal), signal);
    if (earlier) {
      if (earlier.Labels[requestDigestKeyLabel] !== this.digester.keyId) throw new RequestIdReusedError(requestId, "other-digest-key");
      if (earlier.Labels[requestDigestLabel] !== digest) throw new RequestIdReusedError(requestId);
      return { container: containerInfoFromInspect(await abortable(this.inspect(earlier.Id, signal), signal)), warnings: [] };
    }
    const runLabels = { [requestIdLabel]: requestId, [requestDigestLabel]: digest, [requestDigestKeyLabel]: this.digester.keyId };
    return this.runOnce(spec, runLabels, signal);
  }

  private async runOnce(spec: RunSpec, runLabels: Record<string, string>, signal: AbortSignal): Promise<RunResult> {
    checkRunPolicy(spec, this.options.policy);
    await abortable(checkBindMounts(spec.mounts, this.options.policy.bindMountAllowlist, this.engine, signal), signal);
    const image = spec.image;
    if (spec.pullPolicy === "always" && !image.isImageId) {
      await abortable(this.cap.check(signal), signal);
      await abortable(this.images.pull(image, spec.registryAuth, signal), signal);
    }
    // Create and start are not aborted mid-request: the engine could still
    // finish them after we hang up, leaving a container nobody knows of.
    // They run to completion and roll themselves back if the caller left.
    // Like `docker run`, create first and pull only when the engine has no
    // such image: a present image then costs no extra engine round trip.
    // A full engine refuses before any volume is made for a container that cannot exist.
    if (spec.mounts.some((mount) => mount.type === "volume")) await abortable(this.cap.check(signal), signal);
    await abortable(claimVolumes(this.engine, spec.mounts, signal), signal);
    try {
      return await abortable(this.createAndStart(spec, runLabels, signal), signal);
    } catch (error) {
      if (!(error instanceof ImageNotFoundError) || spec.pullPolicy === "always") throw error;
      if (spec.pullPolicy === "never" || image.isImageId) {
        throw new ImageNotFoundError(
          image.original,
          image.isImageId ? "no local image has this id" : "not present locally and pull_policy is NEVER",
        );
      }
    }
    await abortable(this.images.pull(image, spec.registryAuth, signal), signal);
    return abortable(this.createAndStart(spec, runLabels, signal), signal);
  }

  private async createAndStart(spec: RunSpec, runLabels: Record<string, string>, signal: AbortSignal): Promise<RunResult> {
    const labels = { ...runLabels, [instanceLabel]: this.options.instanceId };
    const body = createOptions(withDefaultHostIp(spec, this.options.policy.defaultHostIp), labels);
    const created = await this.cap.create(signal, () =>
      requestEngine<{ Id: string; Warnings: string[] | null }>(this.engine, {
        method: "POST",
        path: "/containers/create?",
        query: { name: spec.name },
        body,
        okStatuses: [200, 201],
      }).catch((error: unknown) => {
        throw this.translate(error, { kind: "create-container", name: spec.name });
      }),
    );
    try {
      await this.cap.confirm();
      signal.throwIfAborted();
      const container = this.engine.docker.getContainer(created.Id);
      await container.start().catch((error: unknown) => {
        throw this.translate(error, { kind: "start-container" });
      });
      signal.throwIfAborted();
      const inspect = await this.inspect(created.Id);
      signal.throwIfAborted();
      if (!spec.autoRemove) this.plainRuns.add(created.Id);
      return { container: containerInfoFromInspect(inspect), warnings: created.Warnings ?? [] };
    } catch (error) {
      await this.removeAfterFailedRun(created.Id, error);
      throw error;
    }
  }

  private async listManaged(filters: Record<string, string[]> = {}, signal?: AbortSignal) {
    return this.engine.docker
      .listContainers({
        all: true,
        filters: { ...filters, label: [...(filters.label ?? []), `${managedLabel}=true`] },
        abortSignal: signal,
      })
      .catch((error: unknown) => {
        throw this.translate(error, { kind: "list-containers" });
      });
  }

  private removeForcibly(id: string): Promise<unknown> {
    return this.engine.docker.getContainer(id).remove({ force: true, v: true });
  }

  private async removeAfterFailedRun(id: string, cause: unknown): Promise<void> {
    try {
      await this.removeForcibly(id);
    } catch (error) {
      const translated = this.translate(error, { kind: "remove-container", container: id });
      // Gone already (auto_remove) is the outcome we wanted.
      if (translated instanceof ContainerNotFoundError) return;
      this.log.warn(
        { containerId: id, cause: String(cause), error: translated.message },
        "could not remove a container whose run failed; it is left on the engine",
      );
    }
  }

  async stopContainer(spec: StopSpec, signal: AbortSignal): Promise<StopResult> {
    if (spec.signal === undefined && this.plainRuns.has(spec.container)) return this.stopPlainRun(spec, signal);
    const before = await abortable(this.inspectInScope(spec.container, signal), signal);
    if (!before.State.Running) {
      return this.alreadyStopped(spec, before);
    }
    const container = this.engine.docker.getContainer(before.Id);
    // An auto-remove container vanishes on exit; only a wait registered
    // beforehand learns its exit code.
    const removal = before.HostConfig.AutoRemove
      ? container.wait({ condition: "removed", abortSignal: signal }).catch(() => undefined)
      : undefined;
    try {
      if (spec.signal === undefined) {
        await container.stop(stopOptions(spec, signal));
      } else {
        const ownTimeout = (before.Config as { StopTimeout?: number }).StopTimeout;
        const grace = spec.timeoutSeconds ?? ownTimeout ?? engineDefaultStopTimeoutSeconds;
        await this.stopWithSignal(before.Id, spec.signal, grace, signal);
      }
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 304) {
        // It stopped on its own between our inspect and our stop.
        return this.alreadyStopped(spec, await this.inspect(before.Id, signal));
      }
      if (signal.aborted) throw abortReason(signal);
      throw this.translate(error, { kind: "stop-container", container: spec.container });
    }
    return { container: await this.inspectAfterStop(before, removal, signal), alreadyStopped: false };
  }

  /**
   * A container this Osiris ran without auto_remove, named by its full id: it
   * is managed and its labels cannot change, so the scope check needs no
   * inspect first. Stop, then inspect once for the answer, as `docker stop`
   * followed by `docker inspect` would.
   */
  private async stopPlainRun(spec: StopSpec, signal: AbortSignal): Promise<StopResult> {
    const container = this.engine.docker.getContainer(spec.container);
    let alreadyStopped = false;
    try {
      await container.stop(stopOptions(spec, signal));
    } catch (error) {
      if (signal.aborted) throw abortReason(signal);
      // 304: it was not running.
      if ((error as { statusCode?: number }).statusCode !== 304) {
        const translated = this.translate(error, { kind: "stop-container", container: spec.container });
        if (translated instanceof ContainerNotFoundError) this.plainRuns.delete(spec.container);
        throw translated;
      }
      alreadyStopped = true;
    }
    const after = await this.inspect(spec.container, signal);
    return alreadyStopped ? this.alreadyStopped(spec, after) : { container: containerInfoFromInspect(after), alreadyStopped: false };
  }

  private alreadyStopped(spec: StopSpec, inspect: ContainerInspectInfo): StopResult {
    if (!spec.ignoreAlreadyStopped) throw new ContainerAlreadyStoppedError(spec.container);
    return { container: containerInfoFromInspect(inspect), alreadyStopped: true };
  }

  /**
   * `docker stop --signal` by hand: the engine API before 1.42 ignores the
   * signal parameter of /stop, so send it, wait out the grace period, then
   * SIGKILL, which is what the engine does internally.
   */
  private async stopWithSignal(id: string, stopSignal: string, graceSeconds: number, signal: AbortSignal) {
    const container = this.engine.docker.getContainer(id);
    await this.killIgnoringNotRunning(id, stopSignal, signal);
    const graceOver = AbortSignal.timeout(graceSeconds * 1000);
    try {
      await container.wait({ condition: "not-running", abortSignal: AbortSignal.any([signal, graceOver]) });
      return;
    } catch (error) {
      if (signal.aborted || !graceOver.aborted) throw error;
    }
    await this.killIgnoringNotRunning(id, "SIGKILL", signal);
    await container.wait({ condition: "not-running", abortSignal: signal });
  }

  private async killIgnoringNotRunning(id: string, killSignal: string, signal: AbortSignal) {
    try {
      await this.engine.docker.getContainer(id).kill({ signal: killSignal, abortSignal: signal });
    } catch (error) {
      // 409: the container is not running any more, which is what we want.
      if ((error as { statusCode?: number }).statusCode !== 409) throw error;
    }
  }

  private async inspectAfterStop(
    before: ContainerInspectInfo,
    removal: Promise<{ StatusCode?: number } | undefined> | undefined,
    signal: AbortSignal,
  ): Promise<ContainerInfo> {
    // Answering before the engine finishes removing would report REMOVING.
    const removed = removal ? await abortable(removal, signal) : undefined;
    try {
      return containerInfoFromInspect(await this.inspect(before.Id, signal));
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

  /** Pulls an image the policy allows, reporting the engine's progress as it comes. */
  async pullImage(
    image: ImageReference,
    credentials: RegistryCredentials | undefined,
    signal: AbortSignal,
    onProgress: (progress: PullProgress) => void,
  ): Promise<PullResult> {
    checkImageAllowed(image, this.options.policy);
    return this.images.pull(image, credentials, signal, onProgress);
  }

  /**
   * Like inspect, but a container outside the configured scope does not exist.
   * In the managed scope an id prefix is resolved among managed containers
   * only: the engine's "matches several containers" would reveal unmanaged
   * ones, and a prefix unique among the containers the caller can see is the
   * one the caller meant.
   */
  async inspectInScope(reference: string, signal?: AbortSignal): Promise<ContainerInspectInfo> {
    let inspect: ContainerInspectInfo;
    try {
      inspect = await this.inspect(reference, signal);
    } catch (error) {
      if (!(error instanceof AmbiguousContainerReferenceError) || this.options.scope !== "managed") throw error;
      inspect = await this.inspectManagedByPrefix(reference, signal);
    }
    if (this.options.scope === "managed" && inspect.Config.Labels?.[managedLabel] !== "true") {
      throw new ContainerNotFoundError(reference);
    }
    return inspect;
  }

  private async inspectManagedByPrefix(prefix: string, signal?: AbortSignal): Promise<ContainerInspectInfo> {
    const matches = (await this.listManaged({}, signal)).filter((container) => container.Id.startsWith(prefix));
    if (matches.length > 1) throw new AmbiguousContainerReferenceError(prefix);
    if (matches.length === 0) throw new ContainerNotFoundError(prefix);
    try {
      return await this.inspect(matches[0]!.Id, signal);
    } catch (error) {
      // Removed since the listing: as absent as if it never matched.
      throw error instanceof ContainerNotFoundError ? new ContainerNotFoundError(prefix) : error;
    }
  }

  /** Inspects by name, id or id prefix; NOT_FOUND-style error when absent. */
  async inspect(reference: string, signal?: AbortSignal): Promise<ContainerInspectInfo> {
    try {
      return await engineContainer(this.engine, reference).inspect({ abortSignal: signal });
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal);
      throw this.translate(error, { kind: "inspect-container", container: reference });
    }
  }

  private translate(error: unknown, operation: EngineOperation): Error {
    return translateEngineError(error, operation, this.engine.endpoint);
  }
}

/** An empty host_ip publishes on the operator's default address (OSIRIS_DEFAULT_HOST_IP), not on every address. */
function withDefaultHostIp(spec: RunSpec, defaultHostIp: string): RunSpec {
  return { ...spec, ports: spec.ports.map((port) => (port.hostIp === "" ? { ...port, hostIp: defaultHostIp } : port)) };
}

/** The engine's /stop options: an unset grace leaves the container's own StopTimeout in force. */
function stopOptions(spec: StopSpec, signal: AbortSignal): { t?: number; abortSignal: AbortSignal } {
  return spec.timeoutSeconds === undefined ? { abortSignal: signal } : { t: spec.timeoutSeconds, abortSignal: signal };
}

/** A set of container ids that forgets the oldest once full. */
class BoundedIdSet {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity: number) {}
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
