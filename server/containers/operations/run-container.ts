import { containerInfoFromInspect, type ContainerInfo } from "../container-info.js";
import { abortable } from "../engine/abortable.js";
import { engineCall } from "../engine/engine-call.js";
import type { EngineClient } from "../engine/engine-client.js";
import { ContainerNotFoundError, ImageNotFoundError, RequestIdReusedError } from "../errors.js";
import { instanceLabel, requestDigestKeyLabel, requestDigestLabel, requestIdLabel } from "../grammar/labels.js";
import { checkBindMounts } from "../policy/bind-mounts.js";
import { ContainerCap } from "../policy/container-cap.js";
import { checkRunPolicy, type RunPolicy } from "../policy/run-policy.js";
import { claimVolumes } from "../policy/volume-claims.js";
import type { RunSpec } from "../run-spec.js";
import { inspectContainer, listManaged } from "./container-lookup.js";
import { createOptions } from "./create-options.js";
import { pullImage } from "./pull-image.js";
import { RunDigester } from "./run-digest.js";
import type { PlainRuns } from "./stop-container.js";

export interface RunResult {
  container: ContainerInfo;
  warnings: string[];
}

/** Where the container service reports what the caller never sees (rollbacks, cleanups). */
export interface ServiceLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface RunSettings {
  policy: RunPolicy;
  /** Labels (io.osiris.instance) what this process creates; several processes may share the engine. */
  instanceId: string;
  /** Keys the request_id digest (OSIRIS_REQUEST_DIGEST_KEY_FILE); see RunDigester. */
  requestDigestKey: Buffer;
  /** Told of each container a Run started and kept; not of a retry that found the container an earlier call made. */
  onContainerStarted: () => void;
}

/**
 * Runs containers: policy and host checks, the managed-container cap, volume
 * claims, create, pull when the image is missing, start, and the request_id
 * that makes a retried Run find the container the first one made. When the
 * caller's signal fires, Run rejects at once with its reason, and any
 * container it had begun to make is removed in the background.
 */
export class ContainerRuns {
  /** Runs with a request_id still under way, so concurrent retries share one. */
  private readonly runsInFlight = new Map<string, { digest: string; result: Promise<RunResult> }>();
  private readonly digester: RunDigester;
  private readonly cap: ContainerCap;

  constructor(
    private readonly engine: EngineClient,
    private readonly log: ServiceLog,
    private readonly settings: RunSettings,
    private readonly plainRuns: PlainRuns,
  ) {
    this.digester = new RunDigester(settings.requestDigestKey);
    this.cap = new ContainerCap(settings.policy.maxManagedContainers, async (signal) => (await listManaged(engine, {}, signal)).length);
  }

  async run(spec: RunSpec, signal: AbortSignal): Promise<RunResult> {
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
    const [earlier] = await abortable(listManaged(this.engine, { label: [`${requestIdLabel}=${requestId}`] }, signal), signal);
    if (earlier) {
      if (earlier.Labels[requestDigestKeyLabel] !== this.digester.keyId) throw new RequestIdReusedError(requestId, "other-digest-key");
      if (earlier.Labels[requestDigestLabel] !== digest) throw new RequestIdReusedError(requestId);
      return { container: containerInfoFromInspect(await abortable(inspectContainer(this.engine, earlier.Id, signal), signal)), warnings: [] };
    }
    const runLabels = { [requestIdLabel]: requestId, [requestDigestLabel]: digest, [requestDigestKeyLabel]: this.digester.keyId };
    return this.runOnce(spec, runLabels, signal);
  }

  private async runOnce(spec: RunSpec, runLabels: Record<string, string>, signal: AbortSignal): Promise<RunResult> {
    const { policy } = this.settings;
    checkRunPolicy(spec, policy);
    await abortable(checkBindMounts(spec.mounts, policy.bindMountAllowlist, this.engine, signal), signal);
    const image = spec.image;
    if (spec.pullPolicy === "always" && !image.isImageId) {
      await abortable(this.cap.check(signal), signal);
      await abortable(pullImage(this.engine, image, spec.registryAuth, signal), signal);
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
    await abortable(pullImage(this.engine, image, spec.registryAuth, signal), signal);
    return abortable(this.createAndStart(spec, runLabels, signal), signal);
  }

  private async createAndStart(spec: RunSpec, runLabels: Record<string, string>, signal: AbortSignal): Promise<RunResult> {
    const { engine } = this;
    const labels = { ...runLabels, [instanceLabel]: this.settings.instanceId };
    const body = createOptions(withDefaultHostIp(spec, this.settings.policy.defaultHostIp), labels, this.settings.policy.maxPidsPerContainer);
    // No signal: see runOnce.
    const created = await this.cap.create(signal, () =>
      engineCall(engine, { kind: "create-container", name: spec.name, image: spec.image.original }, undefined, () =>
        engine.createContainer(spec.name, body),
      ),
    );
    let result: RunResult;
    try {
      await this.cap.confirm();
      signal.throwIfAborted();
      await engineCall(engine, { kind: "start-container", container: created.Id }, undefined, () => engine.startContainer(created.Id));
      signal.throwIfAborted();
      const inspect = await inspectContainer(engine, created.Id);
      signal.throwIfAborted();
      result = { container: containerInfoFromInspect(inspect), warnings: created.Warnings ?? [] };
    } catch (error) {
      await this.removeAfterFailedRun(created.Id, error);
      throw error;
    }
    if (!spec.autoRemove) this.plainRuns.add(created.Id);
    this.settings.onContainerStarted();
    return result;
  }

  private async removeAfterFailedRun(id: string, cause: unknown): Promise<void> {
    try {
      await engineCall(this.engine, { kind: "remove-container", container: id }, undefined, () =>
        this.engine.removeContainer(id, { force: true, removeVolumes: true }),
      );
    } catch (error) {
      // Gone already (auto_remove) is the outcome we wanted.
      if (error instanceof ContainerNotFoundError) return;
      this.log.warn(
        { containerId: id, cause: String(cause), error: (error as Error).message },
        "could not remove a container whose run failed; it is left on the engine",
      );
    }
  }
}

/** An empty host_ip publishes on the operator's default address (OSIRIS_DEFAULT_HOST_IP), not on every address. */
function withDefaultHostIp(spec: RunSpec, defaultHostIp: string): RunSpec {
  return { ...spec, ports: spec.ports.map((port) => (port.hostIp === "" ? { ...port, hostIp: defaultHostIp } : port)) };
}
