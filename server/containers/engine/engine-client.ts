// The Docker engine as Osiris uses it: the operations it calls and the parts of
// the engine's JSON answers it reads (field names as in moby's api/swagger.yaml).
// DockerodeEngineClient is the real one; a test can plug in a fake.
import type { Duplex, Readable } from "node:stream";

/**
 * The engine operations Osiris calls, and nothing else. A failure rejects with
 * what engine-errors.ts classifies: an error carrying the engine's HTTP
 * `statusCode` and its `json.message` (see `engineHttpError`), or a Node
 * connection error with its `code` (ECONNREFUSED...). Callers wrap each call in
 * `engineCall`, which turns such failures into the container service's errors.
 * An aborted `signal` makes a call reject at once (the engine request is closed).
 * Container paths are built from the reference path-encoded, so no character
 * of a reference can change which engine path is asked for.
 */
export interface EngineClient {
  /** Where the engine listens (`unix:///var/run/docker.sock`, `tcp://...`); names it in error messages. */
  readonly endpoint: string;

  /** `GET /_ping`: resolves when the engine answers at all. */
  ping(signal?: AbortSignal): Promise<void>;

  /** `GET /info`: the engine's data root and clock. */
  info(signal?: AbortSignal): Promise<EngineInfo>;

  /** `GET /containers/json`: `all` includes containers that are not running; `filters` as the engine takes them (`label`, `status`, `volume`...). */
  listContainers(query: ContainerListQuery, signal?: AbortSignal): Promise<ContainerSummary[]>;

  /** `GET /containers/{reference}/json`: by name, full id or unique id prefix; 404 when absent. */
  inspectContainer(reference: string, signal?: AbortSignal): Promise<ContainerInspect>;

  /**
   * `POST /containers/create?name=`: the engine's warnings are kept (dockerode
   * drops them). Takes no signal: a create cut off mid-request may still
   * complete on the engine, so callers let it finish and roll back instead.
   */
  createContainer(name: string | undefined, body: ContainerCreateBody): Promise<ContainerCreated>;

  /** `POST /containers/{id}/start`; "already-running" is the engine's 304. */
  startContainer(id: string, signal?: AbortSignal): Promise<"started" | "already-running">;

  /**
   * `POST /containers/{id}/stop?t=`: the engine sends the container's stop
   * signal, waits `timeoutSeconds` (unset: the container's StopTimeout, else
   * 10 s), then SIGKILL. "already-stopped" is the engine's 304.
   */
  stopContainer(id: string, options: { timeoutSeconds?: number }, signal: AbortSignal): Promise<"stopped" | "already-stopped">;

  /** `POST /containers/{id}/kill?signal=`; "not-running" is the engine's 409. */
  killContainer(id: string, killSignal: string, signal: AbortSignal): Promise<"killed" | "not-running">;

  /** `POST /containers/{id}/restart?t=`: stop as stopContainer does, then start. */
  restartContainer(id: string, options: { timeoutSeconds?: number }, signal: AbortSignal): Promise<void>;

  /** `DELETE /containers/{id}?force=&v=`: `removeVolumes` also removes its anonymous volumes; 409 when it runs and `force` is false. */
  removeContainer(id: string, options: { force: boolean; removeVolumes: boolean }, signal?: AbortSignal): Promise<void>;

  /** `POST /containers/{id}/wait?condition=`: resolves once the condition holds. */
  waitContainer(id: string, condition: EngineWaitCondition, signal: AbortSignal): Promise<ContainerWaitResponse>;

  /**
   * `GET /containers/{id}/logs`: the body once its headers arrive, as the
   * engine sends it (multiplexed frames, see log-frames.ts, unless the
   * container has a TTY). Aborting `signal` closes the connection.
   */
  containerLogs(id: string, query: ContainerLogsQuery, signal: AbortSignal): Promise<Readable>;

  /** `GET /events`: newline-delimited JSON events (see EngineEvent) from `since` on, until `signal` aborts. */
  events(query: { since: string; filters: Record<string, string[]> }, signal: AbortSignal): Promise<Readable>;

  /**
   * `GET /containers/{id}/stats?stream=&one-shot=`: newline-delimited JSON
   * samples (see EngineContainerStats) once the headers arrive. `stream`: a
   * sample about every second until `signal` aborts or the container is
   * removed (a stopped container's samples are empty: `read` is the zero
   * time). Not streaming, with `oneShot`: one sample without `precpu_stats`;
   * without `oneShot` the engine waits for two of its sampling cycles.
   */
  containerStats(id: string, options: { stream: boolean; oneShot: boolean }, signal: AbortSignal): Promise<Readable>;

  /**
   * `POST /images/create?fromImage=&tag=`: the pull's progress as
   * newline-delimited JSON. The engine answers 200 before the pull is done and
   * reports a failure as an `error` line inside the stream.
   */
  pullImage(target: { fromImage: string; tag: string }, auth: RegistryAuth | undefined, signal: AbortSignal): Promise<Readable>;

  /** `GET /images/{name}/json`: 404 when no local image has this name. */
  inspectImage(name: string, signal: AbortSignal): Promise<{ Id: string; RepoTags?: string[] | null }>;

  /** `GET /volumes/{name}`: undefined when no volume has this name. */
  inspectVolume(name: string, signal: AbortSignal): Promise<VolumeInfo | undefined>;

  /** `POST /volumes/create`: for an existing name the engine answers with that volume, unchanged. */
  createVolume(body: { Name: string; Driver: string; Labels: Record<string, string> }, signal: AbortSignal): Promise<VolumeInfo>;

  /** `POST /containers/{id}/exec`: 404 for no such container, 409 when it is not running (or paused, or restarting). */
  createExec(containerId: string, body: ExecCreateBody, signal: AbortSignal): Promise<{ Id: string }>;

  /**
   * `POST /exec/{id}/start`, hijacked (`Upgrade: tcp`): the raw connection,
   * carrying the process's output as multiplexed frames (log-frames.ts) and
   * taking its stdin. Ending the writable side closes the process's stdin.
   * Destroying the connection stops the output but NOT the process (the
   * engine has no exec kill), and once the process writes into a closed
   * connection the engine reports the exec ended (exit code 126) while the
   * process may still run: kill it first, then close. Aborting `signal`
   * fails the call before the upgrade; after it, the caller owns the connection.
   */
  startExec(execId: string, signal: AbortSignal): Promise<Duplex>;

  /** `GET /exec/{id}/json`: whether the process runs, its exit code, and its pid on the engine's host. */
  inspectExec(execId: string, signal?: AbortSignal): Promise<ExecInspect>;

  /** `GET /images/json`: every local image with a tag or in use (the engine leaves out intermediate layers). */
  listImages(signal: AbortSignal): Promise<ImageSummary[]>;

  /**
   * `DELETE /images/{name}?force=`: untags `name`, and deletes the image once
   * no tag and no container holds it. 404 for no such image; 409 when a
   * container uses it (a running one even with `force`).
   */
  removeImage(name: string, options: { force: boolean }, signal: AbortSignal): Promise<ImageDeleteItem[]>;
}

/** The body of `POST /containers/{id}/exec`, as far as Osiris sets it. */
export interface ExecCreateBody {
  Cmd: string[];
  /** `KEY=value` entries. */
  Env: string[];
  User?: string;
  WorkingDir?: string;
  AttachStdin: boolean;
  AttachStdout: true;
  AttachStderr: true;
  Tty: false;
  /** Never true: no exec through Osiris gets every capability and device. */
  Privileged: false;
}

/** The parts of `GET /exec/{id}/json` Osiris reads. */
export interface ExecInspect {
  Running: boolean;
  /** Null while the process runs. */
  ExitCode: number | null;
  /** The process id in the engine host's PID namespace; 0 once it ended (or if it never started). */
  Pid: number;
  ContainerID: string;
}

/** One entry of `GET /images/json`. */
export interface ImageSummary {
  Id: string;
  /** `repo:tag` names; null or `["<none>:<none>"]` for an untagged image. */
  RepoTags: string[] | null;
  RepoDigests?: string[] | null;
  /** Unix seconds. */
  Created: number;
  /** Bytes, layers shared with other images included. */
  Size: number;
  Labels?: Record<string, string> | null;
}

/** One line of the answer to `DELETE /images/{name}`: a tag removed, or an image (layer) deleted. */
export interface ImageDeleteItem {
  Untagged?: string;
  Deleted?: string;
}

/** The parts of `GET /info` Osiris reads. */
export interface EngineInfo {
  DockerRootDir?: string;
  /** The engine's clock, RFC 3339. */
  SystemTime?: string;
}

export interface ContainerListQuery {
  all: boolean;
  filters?: Record<string, string[]>;
}

/** One entry of `GET /containers/json`. */
export interface ContainerSummary {
  Id: string;
  /** With a leading "/", as the engine writes names. */
  Names: string[];
  /** Unix seconds. */
  Created: number;
  Labels: Record<string, string>;
  Mounts?: { Source: string; RW: boolean }[];
  /** The id of the container's image (`sha256:...`). */
  ImageID?: string;
}

/** The parts of `GET /containers/{id}/json` Osiris reads. */
export interface ContainerInspect {
  Id: string;
  /** With a leading "/". */
  Name: string;
  /** The image id. */
  Image: string;
  /** RFC 3339 with nanoseconds. */
  Created: string;
  RestartCount?: number;
  State: {
    Status: string;
    Running: boolean;
    ExitCode?: number;
    OOMKilled?: boolean;
    Error?: string;
    StartedAt?: string;
    FinishedAt?: string;
    Health?: { Status?: string };
  };
  Config: {
    /** The image as the container was created with it. */
    Image?: string;
    Labels?: Record<string, string> | null;
    Tty?: boolean;
    StopTimeout?: number;
  };
  HostConfig: {
    AutoRemove?: boolean;
    /** What gives a container's processes the host (see policy/host-access.ts); Osiris sets none of them. */
    Privileged?: boolean;
    CapAdd?: string[] | null;
    PidMode?: string;
    NetworkMode?: string;
    IpcMode?: string;
    UTSMode?: string;
    UsernsMode?: string;
    SecurityOpt?: string[] | null;
    Devices?: unknown[] | null;
    DeviceCgroupRules?: string[] | null;
  };
  /** `Name` and `Driver` for volumes. */
  Mounts: { Type?: string; Source: string; RW: boolean; Name?: string; Driver?: string }[];
  NetworkSettings?: { Ports?: Record<string, { HostIp: string; HostPort: string }[] | null> };
}

/** The body of `POST /containers/create`, as far as Osiris sets it. */
export interface ContainerCreateBody {
  name?: string;
  Image: string;
  Env: string[];
  Labels: Record<string, string>;
  ExposedPorts: Record<string, object>;
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  User?: string;
  HostConfig: {
    PortBindings: Record<string, { HostIp: string; HostPort: string }[]>;
    AutoRemove: boolean;
    Mounts: EngineMount[];
    SecurityOpt: string[];
    CapDrop: string[];
    RestartPolicy: { Name: string; MaximumRetryCount: number };
    Memory?: number;
    NanoCpus?: number;
    PidsLimit: number;
  };
}

export interface EngineMount {
  Type: "bind" | "volume" | "tmpfs";
  Source: string;
  Target: string;
  ReadOnly: boolean;
  BindOptions?: { Propagation: string; NonRecursive: boolean };
}

export interface ContainerCreated {
  Id: string;
  Warnings: string[] | null;
}

export type EngineWaitCondition = "not-running" | "next-exit" | "removed";

export interface ContainerWaitResponse {
  StatusCode?: number;
  Error?: { Message?: string } | null;
}

export interface ContainerLogsQuery {
  follow: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Last lines of existing output, or "all". */
  tail: number | "all";
  /** Unix seconds with up to nine decimals. */
  since?: string;
  until?: string;
  timestamps: boolean;
}

/** The X-Registry-Auth a pull sends. */
export interface RegistryAuth {
  username?: string;
  password?: string;
  identitytoken?: string;
  serveraddress?: string;
}

/** The parts of `GET /volumes/{name}` Osiris reads. */
export interface VolumeInfo {
  Name: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
}

/** The parts of one `GET /containers/{id}/stats` sample Osiris reads; counters count since the container started. */
export interface EngineContainerStats {
  id?: string;
  /** With a leading "/". */
  name?: string;
  /** When the engine read the counters, RFC 3339; the zero time `0001-01-01T00:00:00Z` when the container is not running. */
  read?: string;
  cpu_stats?: EngineCpuStats;
  /** The previous sample's cpu_stats, on every streamed sample but the first; empty with one-shot. */
  precpu_stats?: EngineCpuStats;
  memory_stats?: {
    usage?: number;
    limit?: number;
    /** cgroup v1: `total_inactive_file`, ...; cgroup v2: `inactive_file`, ... (bytes). */
    stats?: Record<string, number>;
  };
  /** Per interface. */
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  blkio_stats?: { io_service_bytes_recursive?: { op?: string; value?: number }[] | null };
  pids_stats?: { current?: number };
}

export interface EngineCpuStats {
  /** Nanoseconds of CPU time the container used. */
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] };
  /** Nanoseconds of CPU time the host used, summed over its CPUs. */
  system_cpu_usage?: number;
  online_cpus?: number;
}

/** One JSON line of the engine's /events stream. */
export interface EngineEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  /** A bigint when read exactly from the JSON text; 19 digits do not fit in a double. */
  timeNano?: number | bigint;
}

export const defaultEngineEndpoint = "unix:///var/run/docker.sock";
