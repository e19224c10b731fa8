import Docker from "dockerode";
import type { Duplex, Readable } from "node:stream";
import {
  defaultEngineEndpoint,
  type ContainerCreateBody,
  type ContainerCreated,
  type ContainerInspect,
  type ContainerListQuery,
  type ContainerLogsQuery,
  type ContainerSummary,
  type ContainerWaitResponse,
  type EngineClient,
  type EngineInfo,
  type EngineWaitCondition,
  type ExecCreateBody,
  type ExecInspect,
  type ImageDeleteItem,
  type ImageSummary,
  type RegistryAuth,
  type VolumeInfo,
} from "./engine-client.js";
import { isConflict, isNotFound, isNotModified } from "./engine-errors.js";
import { requestEngine, streamFromEngine, upgradeEngineConnection } from "./engine-request.js";
import { containRequestFaults } from "./request-faults.js";

/**
 * Connects to `unix:///path`, `tcp://host:port` or `http://host:port`, the
 * forms DOCKER_HOST takes. Nothing is dialled until the first call.
 */
export function connectEngine(endpoint: string = defaultEngineEndpoint): DockerodeEngineClient {
  const docker = new Docker(engineOptions(endpoint));
  containRequestFaults(docker);
  return new DockerodeEngineClient(docker, endpoint);
}

export function engineOptions(endpoint: string): Docker.DockerOptions {
  const url = new URL(endpoint);
  switch (url.protocol) {
    case "unix:":
      return { socketPath: decodeURIComponent(url.pathname) };
    case "tcp:":
    case "http:":
      return { protocol: "http", host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || 2375) };
    default:
      throw new Error(`unsupported engine endpoint ${JSON.stringify(endpoint)}: use unix://, tcp:// or http://`);
  }
}

/**
 * The engine through dockerode, and through engine-request.ts where dockerode
 * loses data or drops the abort signal. Failures are dockerode's own; see
 * EngineClient for what they carry.
 */
export class DockerodeEngineClient implements EngineClient {
  constructor(
    private readonly docker: Docker,
    readonly endpoint: string,
  ) {}

  async ping(signal?: AbortSignal): Promise<void> {
    // dockerode forwards abortSignal on ping; its type definitions omit it.
    const ping = this.docker.ping.bind(this.docker) as (options: { abortSignal?: AbortSignal }) => Promise<unknown>;
    await ping(signal ? { abortSignal: signal } : {});
  }

  info(signal?: AbortSignal): Promise<EngineInfo> {
    return requestEngine<EngineInfo>(this.docker, { method: "GET", path: "/info?", okStatuses: [200], abortSignal: signal });
  }

  async listContainers(query: ContainerListQuery, signal?: AbortSignal): Promise<ContainerSummary[]> {
    const options: Docker.ContainerListOptions = { all: query.all };
    if (query.filters) options.filters = query.filters;
    if (signal) options.abortSignal = signal;
    return (await this.docker.listContainers(options)) as ContainerSummary[];
  }

  async inspectContainer(reference: string, signal?: AbortSignal): Promise<ContainerInspect> {
    return (await this.container(reference).inspect(signal ? { abortSignal: signal } : {})) as unknown as ContainerInspect;
  }

  createContainer(name: string | undefined, body: ContainerCreateBody): Promise<ContainerCreated> {
    return requestEngine<ContainerCreated>(this.docker, {
      method: "POST",
      path: "/containers/create?",
      query: { name },
      body,
      okStatuses: [200, 201],
    });
  }

  async startContainer(id: string, signal?: AbortSignal): Promise<"started" | "already-running"> {
    try {
      await this.container(id).start(signal ? { abortSignal: signal } : {});
      return "started";
    } catch (error) {
      if (isNotModified(error)) return "already-running";
      throw error;
    }
  }

  async stopContainer(id: string, options: { timeoutSeconds?: number }, signal: AbortSignal): Promise<"stopped" | "already-stopped"> {
    try {
      await this.container(id).stop(withGrace(options, signal));
      return "stopped";
    } catch (error) {
      if (isNotModified(error)) return "already-stopped";
      throw error;
    }
  }

  async killContainer(id: string, killSignal: string, signal: AbortSignal): Promise<"killed" | "not-running"> {
    try {
      await this.container(id).kill({ signal: killSignal, abortSignal: signal });
      return "killed";
    } catch (error) {
      if (isConflict(error)) return "not-running";
      throw error;
    }
  }

  async restartContainer(id: string, options: { timeoutSeconds?: number }, signal: AbortSignal): Promise<void> {
    await this.container(id).restart(withGrace(options, signal));
  }

  async removeContainer(id: string, options: { force: boolean; removeVolumes: boolean }, signal?: AbortSignal): Promise<void> {
    const query: { force: boolean; v: boolean; abortSignal?: AbortSignal } = { force: options.force, v: options.removeVolumes };
    if (signal) query.abortSignal = signal;
    await this.container(id).remove(query);
  }

  async waitContainer(id: string, condition: EngineWaitCondition, signal: AbortSignal): Promise<ContainerWaitResponse> {
    return (await this.container(id).wait({ condition, abortSignal: signal })) as ContainerWaitResponse;
  }

  containerLogs(id: string, query: ContainerLogsQuery, signal: AbortSignal): Promise<Readable> {
    return streamFromEngine(this.docker, {
      method: "GET",
      path: `/containers/${encodeURIComponent(id)}/logs?`,
      query: { ...query },
      okStatuses: [200],
      abortSignal: signal,
    });
  }

  events(query: { since: string; filters: Record<string, string[]> }, signal: AbortSignal): Promise<Readable> {
    return streamFromEngine(this.docker, {
      method: "GET",
      path: "/events?",
      query: { since: query.since, filters: JSON.stringify(query.filters) },
      okStatuses: [200],
      abortSignal: signal,
    });
  }

  containerStats(id: string, options: { stream: boolean; oneShot: boolean }, signal: AbortSignal): Promise<Readable> {
    return streamFromEngine(this.docker, {
      method: "GET",
      path: `/containers/${encodeURIComponent(id)}/stats?`,
      query: { stream: options.stream, "one-shot": options.oneShot },
      okStatuses: [200],
      abortSignal: signal,
    });
  }

  async pullImage(target: { fromImage: string; tag: string }, auth: RegistryAuth | undefined, signal: AbortSignal): Promise<Readable> {
    return (await this.docker.createImage(auth, { ...target, abortSignal: signal })) as Readable;
  }

  /** dockerode's image inspect drops abortSignal, so this goes through requestEngine. */
  inspectImage(name: string, signal: AbortSignal): Promise<{ Id: string; RepoTags?: string[] | null }> {
    return requestEngine<{ Id: string; RepoTags?: string[] | null }>(this.docker, {
      method: "GET",
      path: `/images/${name}/json?`,
      okStatuses: [200],
      abortSignal: signal,
    });
  }

  async inspectVolume(name: string, signal: AbortSignal): Promise<VolumeInfo | undefined> {
    try {
      return await requestEngine<VolumeInfo>(this.docker, {
        method: "GET",
        path: `/volumes/${encodeURIComponent(name)}?`,
        okStatuses: [200],
        abortSignal: signal,
      });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  createVolume(body: { Name: string; Driver: string; Labels: Record<string, string> }, signal: AbortSignal): Promise<VolumeInfo> {
    return requestEngine<VolumeInfo>(this.docker, {
      method: "POST",
      path: "/volumes/create?",
      body,
      okStatuses: [200, 201],
      abortSignal: signal,
    });
  }

  createExec(containerId: string, body: ExecCreateBody, signal: AbortSignal): Promise<{ Id: string }> {
    return requestEngine<{ Id: string }>(this.docker, {
      method: "POST",
      path: `/containers/${encodeURIComponent(containerId)}/exec?`,
      body,
      okStatuses: [201],
      abortSignal: signal,
    });
  }

  /** Through engine-request.ts: dockerode's exec start would send its own options as the body. */
  startExec(execId: string, signal: AbortSignal): Promise<Duplex> {
    return upgradeEngineConnection(this.docker, {
      method: "POST",
      path: `/exec/${encodeURIComponent(execId)}/start`,
      body: { Detach: false, Tty: false },
      okStatuses: [],
      abortSignal: signal,
    });
  }

  inspectExec(execId: string, signal?: AbortSignal): Promise<ExecInspect> {
    return requestEngine<ExecInspect>(this.docker, {
      method: "GET",
      path: `/exec/${encodeURIComponent(execId)}/json?`,
      okStatuses: [200],
      abortSignal: signal,
    });
  }

  listImages(signal: AbortSignal): Promise<ImageSummary[]> {
    return requestEngine<ImageSummary[]>(this.docker, { method: "GET", path: "/images/json?", okStatuses: [200], abortSignal: signal });
  }

  removeImage(name: string, options: { force: boolean }, signal: AbortSignal): Promise<ImageDeleteItem[]> {
    return requestEngine<ImageDeleteItem[]>(this.docker, {
      method: "DELETE",
      path: `/images/${name}?`,
      query: { force: options.force },
      okStatuses: [200],
      abortSignal: signal,
    });
  }

  /** A handle on one container, its reference path-encoded. */
  private container(reference: string): Docker.Container {
    return this.docker.getContainer(encodeURIComponent(reference));
  }
}

/** An unset grace leaves the container's own StopTimeout in force, so `t` is sent only when set. */
function withGrace(options: { timeoutSeconds?: number }, signal: AbortSignal): { t?: number; abortSignal: AbortSignal } {
  return options.timeoutSeconds === undefined ? { abortSignal: signal } : { t: options.timeoutSeconds, abortSignal: signal };
}
