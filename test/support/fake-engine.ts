// An in-memory Docker engine behind the EngineClient seam, for tests of the
// real router and interceptors that need neither root nor dockerd. It answers
// as engine 20.10 does (status codes and messages copied from it), and fails
// the way DockerodeEngineClient fails, so Osiris's real error translation runs.
import { createHash, randomBytes } from "node:crypto";
import { constants } from "node:os";
import { Duplex, PassThrough, Readable } from "node:stream";
import type {
  ContainerCreateBody,
  ContainerCreated,
  ContainerInspect,
  ContainerListQuery,
  ContainerLogsQuery,
  ContainerSummary,
  ContainerWaitResponse,
  EngineClient,
  EngineInfo,
  EngineWaitCondition,
  ExecCreateBody,
  ExecInspect,
  ImageDeleteItem,
  ImageSummary,
  RegistryAuth,
  VolumeInfo,
} from "../../server/containers/engine/engine-client.js";

/** Every engine operation, by its EngineClient method name. */
export type EngineMethod = Exclude<keyof EngineClient, "endpoint">;

const engineMethods: readonly EngineMethod[] = [
  "ping",
  "info",
  "listContainers",
  "inspectContainer",
  "createContainer",
  "startContainer",
  "stopContainer",
  "killContainer",
  "restartContainer",
  "removeContainer",
  "waitContainer",
  "containerLogs",
  "events",
  "containerStats",
  "pullImage",
  "inspectImage",
  "inspectVolume",
  "createVolume",
  "createExec",
  "startExec",
  "inspectExec",
  "listImages",
  "removeImage",
];

/**
 * dockerode's reason word per status, for the calls dockerode itself makes;
 * calls Osiris makes through engine-request.ts have none ("unexpected").
 */
const dockerodeReasons: Partial<Record<EngineMethod, Record<number, string>>> = {
  ping: { 500: "server error" },
  listContainers: { 400: "bad parameter", 500: "server error" },
  inspectContainer: { 404: "no such container", 500: "server error" },
  startContainer: { 304: "container already started", 404: "no such container", 500: "server error" },
  stopContainer: { 304: "container already stopped", 404: "no such container", 500: "server error" },
  killContainer: { 404: "no such container", 500: "server error" },
  restartContainer: { 404: "no such container", 500: "server error" },
  removeContainer: { 400: "bad parameter", 404: "no such container", 500: "server error" },
  waitContainer: { 404: "no such container", 500: "server error" },
  pullImage: { 500: "server error" },
};

/**
 * An engine HTTP error exactly as docker-modem builds it: message
 * `(HTTP code N) reason - engine message `, `reason`, `statusCode`, and the
 * engine's JSON body in `json`.
 */
export function dockerodeError(statusCode: number, message: string, reason?: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) ${reason ?? "unexpected"} - ${message} `), {
    reason,
    statusCode,
    json: { message },
  });
}

/** What Node's socket reports when the engine cannot be reached (`connect ECONNREFUSED /var/run/docker.sock`). */
export function connectionError(code = "ECONNREFUSED", address = "/var/run/docker.sock"): Error {
  const errno: Record<string, number> = { ECONNREFUSED: -111, ENOENT: -2, EACCES: -13, ECONNRESET: -104, ETIMEDOUT: -110 };
  return Object.assign(new Error(`connect ${code} ${address}`), { errno: errno[code] ?? -1, code, syscall: "connect", address });
}

/** What an aborted engine request rejects with (Node's AbortError). */
function abortError(): Error {
  return Object.assign(new Error("The operation was aborted"), { name: "AbortError", code: "ABORT_ERR" });
}

/** What an open engine response fails with when the engine goes away mid-answer. */
function connectionReset(): Error {
  return Object.assign(new Error("aborted"), { code: "ECONNRESET" });
}

/**
 * A failure for failNext: an Error as is, or a plain object in dockerode's
 * shape (`{ statusCode, json: { message } }`, `{ code: "ECONNREFUSED" }`),
 * which becomes an Error carrying the same properties.
 */
export type EngineFailure = Error | { statusCode: number; json?: unknown; message?: string } | { code: string; message?: string };

function asError(method: EngineMethod, failure: EngineFailure): Error {
  if (failure instanceof Error) return failure;
  if ("statusCode" in failure) {
    const json = failure.json as { message?: unknown } | undefined;
    const message = typeof json?.message === "string" ? json.message : (failure.message ?? "");
    return Object.assign(dockerodeError(failure.statusCode, message, dockerodeReasons[method]?.[failure.statusCode]), failure);
  }
  return Object.assign(connectionError(failure.code), failure.message ? { message: failure.message } : {});
}

type FakeState = "created" | "running" | "exited";

/** How a container answers a signal: it exits with this code, or it ignores the signal (the default: PID 1 without a handler). */
export type SignalReaction = number | "ignore";

interface FakeMount {
  Type: "bind" | "volume" | "tmpfs";
  Name?: string;
  Source: string;
  Destination: string;
  RW: boolean;
}

interface LogEntry {
  stream: "stdout" | "stderr";
  data: Buffer;
  timeNano: bigint;
}

interface FakeContainer {
  id: string;
  name: string;
  /** The image as the container was created with it. */
  image: string;
  imageId: string;
  createdNano: bigint;
  labels: Record<string, string>;
  command: string[];
  body?: ContainerCreateBody;
  state: FakeState;
  exitCode: number;
  error: string;
  startedAt?: bigint;
  finishedAt?: bigint;
  autoRemove: boolean;
  tty: boolean;
  stopTimeout?: number;
  portBindings: Record<string, { HostIp: string; HostPort: string }[]>;
  /** The bindings the engine made at the last start; empty when not running. */
  boundPorts: Record<string, { HostIp: string; HostPort: string }[]>;
  mounts: FakeMount[];
  reactions: Map<string, SignalReaction>;
  logs: LogEntry[];
}

/** A container as a test seeds it, as the docker CLI (or another Osiris) would have made it. */
export interface SeedContainer {
  /** 64 hex digits; random when unset. */
  id?: string;
  name?: string;
  image?: string;
  labels?: Record<string, string>;
  state?: FakeState;
  exitCode?: number;
  created?: Date;
  autoRemove?: boolean;
  tty?: boolean;
  mounts?: FakeMount[];
  portBindings?: Record<string, { HostIp: string; HostPort: string }[]>;
}

/** How a pull of one reference goes; see scriptPull. */
export interface PullScript {
  /** Progress lines (the engine's JSON objects) streamed before the outcome. */
  progress?: object[];
  /** The engine answers with this HTTP error before streaming anything. */
  httpError?: { statusCode: number; message: string };
  /** The engine answers 200 and then reports this in an `error` line of the stream. */
  streamError?: string;
  /** Whether the image is then local; true unless the pull fails. */
  lands?: boolean;
}

interface Waiter {
  id: string;
  condition: EngineWaitCondition | "next-exit";
  resolve: (response: ContainerWaitResponse) => void;
}

interface Subscriber {
  stream: PassThrough;
  filters: Record<string, string[]>;
}

/** A container's resource use as its stats report it; counters grow by these amounts each sampling cycle. */
export interface FakeStats {
  /** CPU nanoseconds the container uses per cycle; a cycle has `1e9 × online CPUs` of host CPU time. */
  cpuPerCycle: number;
  onlineCpus: number;
  memoryUsage: number;
  /** Page cache the kernel could reclaim (cgroup v1 `total_inactive_file`). */
  inactiveFile: number;
  memoryLimit: number;
  rxBytes: number;
  txBytes: number;
  readBytes: number;
  writeBytes: number;
  pids: number;
}

interface StatsFollower {
  id: string;
  stream: PassThrough;
  timer: NodeJS.Timeout;
  /** The previous sample's cpu_stats, as the engine sends it in precpu_stats. */
  previous?: object;
}

interface LogFollower {
  id: string;
  stream: PassThrough;
  query: ContainerLogsQuery;
}

/** What a command does when exec'd in the fake: its output and exit code, or it runs until killed (`hang`). */
export interface FakeExecOutcome {
  stdout?: string | Buffer;
  stderr?: string | Buffer;
  exitCode?: number;
  hang?: boolean;
}

/** An exec as the script sees it: what was asked for, and the stdin it got. */
export interface FakeExecRequest {
  container: string;
  body: ExecCreateBody;
  stdin: Buffer;
}

export type FakeExecScript = (exec: FakeExecRequest) => FakeExecOutcome;

interface FakeExec {
  id: string;
  containerId: string;
  body: ExecCreateBody;
  running: boolean;
  started: boolean;
  exitCode: number | null;
  /** The exec's connection while its process runs. */
  connection?: Duplex;
}

/**
 * `echo`, `cat` (stdin to stdout), `true`, `false`, `sleep` (runs until killed),
 * `sh -c "exit N"`; anything else is not found, as the runtime reports it.
 */
function defaultExecScript({ body, stdin }: FakeExecRequest): FakeExecOutcome {
  const [program = "", ...args] = body.Cmd;
  switch (program) {
    case "echo":
      return { stdout: `${args.join(" ")}\n` };
    case "cat":
      return { stdout: stdin };
    case "true":
      return {};
    case "false":
      return { exitCode: 1 };
    case "sleep":
      return { hang: true };
    case "sh": {
      const exit = /^exit (\d+)$/.exec(args[1] ?? "");
      if (args[0] === "-c" && exit) return { exitCode: Number(exit[1]) };
      break;
    }
  }
  return {
    stdout: `OCI runtime exec failed: exec failed: unable to start container process: exec: "${program}": executable file not found in $PATH: unknown\r\n`,
    exitCode: 126,
  };
}

/** One frame of the engine's multiplexed stream (see log-frames.ts). */
function frame(stream: "stdout" | "stderr", data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream === "stdout" ? 1 : 2;
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}

const engineRoot = "/var/lib/docker";
const zeroTime = "0001-01-01T00:00:00Z";
const defaultImage = "osiris-test/busybox:latest";
const knownStatuses = new Set(["created", "restarting", "running", "removing", "paused", "exited", "dead"]);
/** List filters the engine knows but this fake does not model; asking for one fails the test loudly rather than being ignored. */
const unmodelledListFilters = new Set(["ancestor", "before", "since", "exited", "health", "network", "publish", "expose", "is-task", "isolation"]);
const modelledListFilters = new Set(["label", "status", "name", "id", "volume"]);

/**
 * The engine in memory. Test controls: failNext, hang, down/up, counters in
 * `calls`, and seeding (addContainer, addImage, publish, addVolume). Time is
 * not modelled: a grace period passes at once, and a container runs until it
 * is stopped, killed or told to exit (exit).
 */
export class FakeEngine implements EngineClient {
  readonly endpoint: string;
  /** How often each operation was called, failed calls included. */
  readonly calls = Object.fromEntries(engineMethods.map((method) => [method, 0])) as Record<EngineMethod, number>;
  /** How many calls of each operation ended because their caller aborted them. */
  readonly aborted = Object.fromEntries(engineMethods.map((method) => [method, 0])) as Record<EngineMethod, number>;
  /** Every pull asked for, with the auth it carried. */
  readonly pulls: { fromImage: string; tag: string; auth: RegistryAuth | undefined }[] = [];

  private readonly containers = new Map<string, FakeContainer>();
  /** Local images: normalised reference -> image id. */
  private readonly images = new Map<string, string>();
  /** What a pull can fetch: normalised reference -> the credentials the registry wants, if any. */
  private readonly registry = new Map<string, { username: string; password: string } | undefined>();
  private readonly pullScripts = new Map<string, PullScript>();
  private readonly volumes = new Map<string, VolumeInfo>();
  private readonly execs = new Map<string, FakeExec>();
  private execScript: FakeExecScript = defaultExecScript;
  /** When each local image was made, by id (Unix seconds). */
  private readonly imageCreated = new Map<string, number>();
  private readonly failures = new Map<EngineMethod, Error[]>();
  private readonly hangs = new Map<EngineMethod, Set<() => void>>();
  private readonly waiters = new Set<Waiter>();
  private readonly subscribers = new Set<Subscriber>();
  private readonly followers = new Set<LogFollower>();
  private readonly statsFollowers = new Set<StatsFollower>();
  private readonly stats = new Map<string, { figures: FakeStats; cycles: number }>();
  /** How often a stats stream sends a sample; the engine's cycle is 1 s. */
  statsIntervalMs = 1000;
  private readonly history: { timeNano: bigint; line: string; event: EventFacts }[] = [];
  private reachable = true;
  private downCode = "ECONNREFUSED";
  private lastNano = 0n;
  private nextEphemeralPort = 32768;

  constructor(options: { endpoint?: string; images?: string[] } = {}) {
    this.endpoint = options.endpoint ?? "unix:///var/run/docker.sock";
    for (const image of options.images ?? [defaultImage]) this.addImage(image);
  }

  // ---- test controls ----

  /** The next `times` calls of `method` fail with `failure`, after being counted. */
  failNext(method: EngineMethod, failure: EngineFailure, times = 1): void {
    const queue = this.failures.get(method) ?? [];
    for (let i = 0; i < times; i++) queue.push(asError(method, failure));
    this.failures.set(method, queue);
  }

  /**
   * Calls of `method` from now on wait, as if the engine stalled, until the
   * returned release is called (they then proceed) or their signal aborts
   * (they then reject as an aborted request does).
   */
  hang(method: EngineMethod): () => void {
    const released = new Set<() => void>();
    this.hangs.set(method, released);
    return () => {
      if (this.hangs.get(method) === released) this.hangs.delete(method);
      for (const resume of released) resume();
      released.clear();
    };
  }

  /** The engine stops answering: every call fails to connect, and open streams break. */
  down(code = "ECONNREFUSED"): void {
    this.reachable = false;
    this.downCode = code;
    for (const subscriber of this.subscribers) subscriber.stream.destroy(connectionReset());
    this.subscribers.clear();
    for (const follower of this.followers) follower.stream.destroy(connectionReset());
    this.followers.clear();
    for (const follower of this.statsFollowers) follower.stream.destroy(connectionReset());
  }

  up(): void {
    this.reachable = true;
  }

  resetCalls(): void {
    for (const method of engineMethods) {
      this.calls[method] = 0;
      this.aborted[method] = 0;
    }
  }

  /** Makes an image local; returns its id. */
  addImage(reference: string): string {
    const id = imageIdOf(normaliseImage(reference));
    this.images.set(normaliseImage(reference), id);
    if (!this.imageCreated.has(id)) this.imageCreated.set(id, Math.floor(Date.now() / 1000) - this.imageCreated.size);
    return id;
  }

  /** Decides what exec'd commands do (see defaultExecScript for what they do otherwise). */
  scriptExec(script: FakeExecScript): void {
    this.execScript = script;
  }

  /** Every exec created, with the body Osiris sent, in order. */
  execBodies(): ExecCreateBody[] {
    return [...this.execs.values()].map((exec) => structuredClone(exec.body));
  }

  /** Exec'd processes still running (a hanging command nobody killed). */
  get runningExecs(): number {
    return [...this.execs.values()].filter((exec) => exec.running).length;
  }

  hasImage(reference: string): boolean {
    return this.lookupImage(reference) !== undefined;
  }

  /** Makes a reference pullable, optionally only with these registry credentials. */
  publish(reference: string, credentials?: { username: string; password: string }): void {
    this.registry.set(normaliseImage(reference), credentials);
  }

  /** Decides how pulls of `reference` go, whatever the registry holds. */
  scriptPull(reference: string, script: PullScript): void {
    this.pullScripts.set(normaliseImage(reference), script);
  }

  addVolume(volume: { Name: string; Driver?: string; Labels?: Record<string, string> | null; Options?: Record<string, string> | null }): void {
    this.volumes.set(volume.Name, { Driver: "local", Labels: null, Options: null, ...volume });
  }

  volume(name: string): VolumeInfo | undefined {
    return this.volumes.get(name);
  }

  /** Puts a container on the engine directly, as the docker CLI would; returns its id. */
  addContainer(seed: SeedContainer = {}): string {
    const id = seed.id ?? randomBytes(32).toString("hex");
    const name = seed.name ?? `fake_${id.slice(0, 10)}`;
    const image = seed.image ?? defaultImage;
    const created = seed.created ? BigInt(seed.created.getTime()) * 1_000_000n : this.clock();
    const container = this.newContainer(id, name, image, created, {
      labels: seed.labels ?? {},
      command: [],
      autoRemove: seed.autoRemove ?? false,
      tty: seed.tty ?? false,
      portBindings: seed.portBindings ?? {},
      mounts: seed.mounts ?? [],
    });
    this.emit("create", container);
    if (seed.state === "running") this.begin(container);
    if (seed.state === "exited") {
      this.begin(container);
      this.finish(container, seed.exitCode ?? 0);
    }
    return id;
  }

  /** A container's inspect as the engine would answer it now; undefined when absent. */
  inspect(reference: string): ContainerInspect | undefined {
    const container = this.find(reference);
    return container ? inspectOf(container) : undefined;
  }

  /** The body Osiris sent to create the container. */
  createBody(reference: string): ContainerCreateBody | undefined {
    return this.find(reference)?.body;
  }

  /** Stats streams open on the engine now. */
  get openStatsStreams(): number {
    return this.statsFollowers.size;
  }

  /** What the container's stats report from now on; a running container without any reports an idle one. */
  setStats(reference: string, figures: Partial<FakeStats>): void {
    const container = this.must(reference);
    const entry = this.stats.get(container.id) ?? { figures: idleStats(), cycles: 0 };
    entry.figures = { ...entry.figures, ...figures };
    this.stats.set(container.id, entry);
  }

  /** Event streams open on the engine now. */
  get openEventStreams(): number {
    return this.subscribers.size;
  }

  /** Ids of every container on the engine, in any state. */
  containerIds(): string[] {
    return [...this.containers.keys()];
  }

  /** How the container answers `signal` (`SIGTERM`, `SIGINT`...): exit with a code, or ignore it. */
  react(reference: string, signal: string, reaction: SignalReaction): void {
    this.must(reference).reactions.set(signalName(signal), reaction);
  }

  /** The container's main process ends on its own with `exitCode`. */
  exit(reference: string, exitCode: number): void {
    const container = this.must(reference);
    if (container.state === "running") this.finish(container, exitCode);
  }

  /** Output the container writes; lines reach following log streams at once. */
  writeLogs(reference: string, stream: "stdout" | "stderr", text: string): void {
    const container = this.must(reference);
    for (const line of text.split(/(?<=\n)/)) {
      if (line === "") continue;
      const entry = { stream, data: Buffer.from(line), timeNano: this.clock() };
      container.logs.push(entry);
      for (const follower of this.followers) {
        if (follower.id === container.id) writeLogEntry(follower.stream, entry, follower.query, container.tty);
      }
    }
  }

  /** An engine event about a container (health_status: healthy, oom...), as the engine would send it. */
  emitEvent(reference: string, action: string, attributes: Record<string, string> = {}): void {
    this.emit(action, this.must(reference), attributes);
  }

  // ---- EngineClient ----

  async ping(signal?: AbortSignal): Promise<void> {
    await this.enter("ping", signal);
  }

  async info(signal?: AbortSignal): Promise<EngineInfo> {
    await this.enter("info", signal);
    return { DockerRootDir: engineRoot, SystemTime: timeString(this.clock()) };
  }

  async listContainers(query: ContainerListQuery, signal?: AbortSignal): Promise<ContainerSummary[]> {
    await this.enter("listContainers", signal);
    const filters = query.filters ?? {};
    for (const key of Object.keys(filters)) {
      if (unmodelledListFilters.has(key)) throw new Error(`FakeEngine does not model the list filter ${JSON.stringify(key)}; add it`);
      if (!modelledListFilters.has(key)) throw this.error("listContainers", 400, `Invalid filter '${key}'`);
    }
    for (const status of filters.status ?? []) {
      if (!knownStatuses.has(status)) throw this.error("listContainers", 400, `Invalid filter 'status=${status}'`);
    }
    // As `docker ps --filter status=exited` shows: a status filter lists stopped containers without `all`.
    const all = query.all || (filters.status?.length ?? 0) > 0;
    return [...this.containers.values()]
      .filter((container) => (all || container.state === "running") && matchesListFilters(container, filters))
      .sort((a, b) => (b.createdNano > a.createdNano ? 1 : b.createdNano < a.createdNano ? -1 : 0))
      .map(summaryOf);
  }

  async inspectContainer(reference: string, signal?: AbortSignal): Promise<ContainerInspect> {
    await this.enter("inspectContainer", signal);
    return inspectOf(this.resolve("inspectContainer", reference));
  }

  async createContainer(name: string | undefined, body: ContainerCreateBody): Promise<ContainerCreated> {
    await this.enter("createContainer", undefined);
    if (name !== undefined && !/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) {
      throw this.error("createContainer", 400, `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    const id = randomBytes(32).toString("hex");
    const wanted = name?.replace(/^\//, "") ?? `fake_${id.slice(0, 10)}`;
    const holder = [...this.containers.values()].find((container) => container.name === wanted);
    if (holder) {
      throw this.error(
        "createContainer",
        409,
        `Conflict. The container name "/${wanted}" is already in use by container "${holder.id}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    if (!this.lookupImage(body.Image)) throw this.error("createContainer", 404, `No such image: ${normaliseImage(body.Image)}`);
    const mounts = body.HostConfig.Mounts.map((mount): FakeMount => {
      if (mount.Type !== "volume") return { Type: mount.Type, Source: mount.Source, Destination: mount.Target, RW: !mount.ReadOnly };
      // The engine makes a named volume that does not exist yet, unlabelled.
      if (!this.volumes.has(mount.Source)) this.addVolume({ Name: mount.Source });
      return { Type: "volume", Name: mount.Source, Source: `${engineRoot}/volumes/${mount.Source}/_data`, Destination: mount.Target, RW: !mount.ReadOnly };
    });
    const container = this.newContainer(id, wanted, body.Image, this.clock(), {
      labels: { ...body.Labels },
      command: [...(body.Entrypoint ?? []), ...(body.Cmd ?? [])],
      autoRemove: body.HostConfig.AutoRemove,
      tty: false,
      portBindings: structuredClone(body.HostConfig.PortBindings),
      mounts,
    });
    container.body = structuredClone(body);
    this.emit("create", container);
    return { Id: id, Warnings: [] };
  }

  async startContainer(id: string, signal?: AbortSignal): Promise<"started" | "already-running"> {
    await this.enter("startContainer", signal);
    const container = this.resolve("startContainer", id);
    if (container.state === "running") return "already-running";
    this.start(container);
    return "started";
  }

  async stopContainer(id: string, _options: { timeoutSeconds?: number }, signal: AbortSignal): Promise<"stopped" | "already-stopped"> {
    await this.enter("stopContainer", signal);
    const container = this.resolve("stopContainer", id);
    if (container.state !== "running") return "already-stopped";
    this.stop(container);
    return "stopped";
  }

  async killContainer(id: string, killSignal: string, signal: AbortSignal): Promise<"killed" | "not-running"> {
    await this.enter("killContainer", signal);
    const container = this.resolve("killContainer", id);
    if (container.state !== "running") return "not-running";
    this.deliver(container, signalName(killSignal));
    return "killed";
  }

  async restartContainer(id: string, _options: { timeoutSeconds?: number }, signal: AbortSignal): Promise<void> {
    await this.enter("restartContainer", signal);
    const container = this.resolve("restartContainer", id);
    if (container.state === "running") this.stop(container);
    if (!this.containers.has(container.id)) return; // auto_remove took it
    this.start(container, "restartContainer");
    this.emit("restart", container);
  }

  async removeContainer(id: string, options: { force: boolean; removeVolumes: boolean }, signal?: AbortSignal): Promise<void> {
    await this.enter("removeContainer", signal);
    const container = this.resolve("removeContainer", id);
    if (container.state === "running") {
      if (!options.force) {
        throw this.error(
          "removeContainer",
          409,
          `You cannot remove a running container ${container.id}. Stop the container before attempting removal or force remove`,
        );
      }
      this.deliver(container, "SIGKILL");
    }
    if (this.containers.has(container.id)) this.destroy(container);
  }

  async waitContainer(id: string, condition: EngineWaitCondition, signal: AbortSignal): Promise<ContainerWaitResponse> {
    await this.enter("waitContainer", signal);
    const container = this.resolve("waitContainer", id);
    if (condition === "not-running" && container.state !== "running") return waitResponse(container);
    return new Promise<ContainerWaitResponse>((resolve, reject) => {
      const waiter: Waiter = {
        id: container.id,
        condition,
        resolve: (response) => {
          signal.removeEventListener("abort", onAbort);
          resolve(response);
        },
      };
      const onAbort = () => {
        this.waiters.delete(waiter);
        this.aborted.waitContainer++;
        reject(abortError());
      };
      this.waiters.add(waiter);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  async containerLogs(id: string, query: ContainerLogsQuery, signal: AbortSignal): Promise<Readable> {
    await this.enter("containerLogs", signal);
    const container = this.resolve("containerLogs", id);
    const since = query.since === undefined ? undefined : engineTimeNano(query.since);
    const until = query.until === undefined ? undefined : engineTimeNano(query.until);
    let entries = container.logs.filter(
      (entry) =>
        (entry.stream === "stdout" ? query.stdout : query.stderr) &&
        (since === undefined || entry.timeNano >= since) &&
        (until === undefined || entry.timeNano <= until),
    );
    if (query.tail !== "all") entries = query.tail === 0 ? [] : entries.slice(-query.tail);
    const stream = new PassThrough();
    for (const entry of entries) writeLogEntry(stream, entry, query, container.tty);
    if (!query.follow || container.state !== "running") {
      stream.end();
      return stream;
    }
    const follower: LogFollower = { id: container.id, stream, query };
    this.followers.add(follower);
    this.closeOnAbort(stream, signal, () => this.followers.delete(follower));
    return stream;
  }

  async events(query: { since: string; filters: Record<string, string[]> }, signal: AbortSignal): Promise<Readable> {
    await this.enter("events", signal);
    const since = engineTimeNano(query.since);
    const stream = new PassThrough();
    for (const past of this.history) {
      if (past.timeNano >= since && matchesEventFilters(past.event, query.filters)) stream.write(`${past.line}\n`);
    }
    const subscriber: Subscriber = { stream, filters: query.filters };
    this.subscribers.add(subscriber);
    this.closeOnAbort(stream, signal, () => this.subscribers.delete(subscriber));
    return stream;
  }

  async containerStats(id: string, options: { stream: boolean; oneShot: boolean }, signal: AbortSignal): Promise<Readable> {
    await this.enter("containerStats", signal);
    const container = this.resolve("containerStats", id);
    const stream = new PassThrough();
    if (!options.stream) {
      // Without one-shot the engine primes precpu_stats with a first cycle.
      const first = options.oneShot ? undefined : this.statsSample(container, undefined);
      stream.end(`${JSON.stringify(this.statsSample(container, first?.cpu_stats))}\n`);
      return stream;
    }
    const follower: StatsFollower = {
      id: container.id,
      stream,
      timer: setInterval(() => this.sendStats(follower), this.statsIntervalMs),
    };
    this.statsFollowers.add(follower);
    this.sendStats(follower);
    this.closeOnAbort(stream, signal, () => {
      clearInterval(follower.timer);
      this.statsFollowers.delete(follower);
    });
    return stream;
  }

  async pullImage(target: { fromImage: string; tag: string }, auth: RegistryAuth | undefined, signal: AbortSignal): Promise<Readable> {
    await this.enter("pullImage", signal);
    this.pulls.push({ ...target, auth });
    const reference = normaliseImage(target.tag.includes(":") ? `${target.fromImage}@${target.tag}` : `${target.fromImage}:${target.tag}`);
    const script = this.pullScripts.get(reference) ?? this.registryPull(reference, auth);
    if (script.httpError) throw this.error("pullImage", script.httpError.statusCode, script.httpError.message);
    const lines = [...(script.progress ?? defaultProgress(reference))];
    if (script.streamError !== undefined) {
      lines.push({ errorDetail: { message: script.streamError }, error: script.streamError });
    } else if (script.lands !== false) {
      this.addImage(reference);
    }
    const stream = Readable.from(lines.map((line) => Buffer.from(`${JSON.stringify(line)}\r\n`)));
    this.closeOnAbort(stream, signal, () => {});
    return stream;
  }

  async inspectImage(name: string, signal: AbortSignal): Promise<{ Id: string; RepoTags: string[] }> {
    await this.enter("inspectImage", signal);
    const id = this.lookupImage(name);
    if (!id) throw this.error("inspectImage", 404, `no such image: ${name}: No such image: ${name}`);
    return { Id: id, RepoTags: this.tagsOf(id) };
  }

  async inspectVolume(name: string, signal: AbortSignal): Promise<VolumeInfo | undefined> {
    await this.enter("inspectVolume", signal);
    const volume = this.volumes.get(name);
    return volume ? structuredClone(volume) : undefined;
  }

  async createVolume(body: { Name: string; Driver: string; Labels: Record<string, string> }, signal: AbortSignal): Promise<VolumeInfo> {
    await this.enter("createVolume", signal);
    if (!this.volumes.has(body.Name)) this.addVolume({ Name: body.Name, Driver: body.Driver, Labels: { ...body.Labels } });
    return structuredClone(this.volumes.get(body.Name)!);
  }

  async createExec(containerId: string, body: ExecCreateBody, signal: AbortSignal): Promise<{ Id: string }> {
    await this.enter("createExec", signal);
    const container = this.resolve("createExec", containerId);
    if (container.state !== "running") throw this.error("createExec", 409, `Container ${container.id} is not running`);
    const id = randomBytes(32).toString("hex");
    this.execs.set(id, { id, containerId: container.id, body: structuredClone(body), running: false, started: false, exitCode: null });
    return { Id: id };
  }

  /**
   * The hijacked connection: stdin is read until the caller ends its side,
   * then the script's output is written as frames and the connection ends,
   * unless the command hangs (it then runs until killed).
   */
  async startExec(execId: string, signal: AbortSignal): Promise<Duplex> {
    await this.enter("startExec", signal);
    const exec = this.execs.get(execId);
    if (!exec) throw this.error("startExec", 404, `No such exec instance: ${execId}`);
    const container = this.containers.get(exec.containerId);
    if (!container || container.state !== "running") throw this.error("startExec", 409, `Container ${exec.containerId} is not running`);
    exec.running = true;
    exec.started = true;
    const stdin: Buffer[] = [];
    const connection: Duplex = new Duplex({
      read: () => {},
      write: (chunk: Buffer, _encoding, done) => {
        stdin.push(chunk);
        done();
      },
      final: (done) => {
        done();
        if (!exec.running) return;
        const [program, flag, , marker] = exec.body.Cmd;
        if (program === "sh" && flag === "-c" && marker?.startsWith("OSIRIS_EXEC_ID=")) {
          // Osiris's killer (exec-process-kill.ts): every process of the container carrying the marker dies.
          for (const other of this.execs.values()) {
            if (other.containerId === exec.containerId && other.body.Env.includes(marker)) this.endExec(other, 137);
          }
          this.endExec(exec, 0);
          return;
        }
        const outcome = this.execScript({ container: exec.containerId, body: exec.body, stdin: Buffer.concat(stdin) });
        if (outcome.hang) return;
        for (const stream of ["stdout", "stderr"] as const) {
          const data = outcome[stream];
          if (data !== undefined && data.length > 0) connection.push(frame(stream, Buffer.from(data)));
        }
        this.endExec(exec, outcome.exitCode ?? 0);
      },
    });
    exec.connection = connection;
    return connection;
  }

  async inspectExec(execId: string, signal?: AbortSignal): Promise<ExecInspect> {
    await this.enter("inspectExec", signal);
    const exec = this.execs.get(execId);
    if (!exec) throw this.error("inspectExec", 404, `No such exec instance: ${execId}`);
    return { Running: exec.running, ExitCode: exec.exitCode, Pid: exec.running ? 999_999_999 : 0, ContainerID: exec.containerId };
  }

  async listImages(signal: AbortSignal): Promise<ImageSummary[]> {
    await this.enter("listImages", signal);
    return [...new Set(this.images.values())].map((id) => ({
      Id: id,
      RepoTags: this.tagsOf(id),
      RepoDigests: [],
      Created: this.imageCreated.get(id) ?? 0,
      Size: 1_234_567,
      Labels: null,
    }));
  }

  /** As the engine removes: a name untags (and deletes once nothing names or uses the image); an id takes every name. */
  async removeImage(name: string, options: { force: boolean }, signal: AbortSignal): Promise<ImageDeleteItem[]> {
    await this.enter("removeImage", signal);
    const id = this.lookupImage(name);
    if (!id) throw this.error("removeImage", 404, `No such image: ${name}`);
    const byId = /^(?:sha256:)?[0-9a-f]{64}$/.test(name);
    const tags = this.tagsOf(id);
    const removing = byId ? tags : [normaliseImage(name)];
    const last = removing.length === tags.length;
    const users = [...this.containers.values()].filter((container) => container.imageId === id);
    const running = users.find((container) => container.state === "running");
    if (byId && running) {
      throw this.error("removeImage", 409, `conflict: unable to delete ${id.slice(7, 19)} (cannot be forced) - image is being used by running container ${running.id.slice(0, 12)}`);
    }
    if (last && users.length > 0 && !options.force) {
      const reference = byId ? `delete ${id.slice(7, 19)}` : `remove repository reference "${name}"`;
      throw this.error("removeImage", 409, `conflict: unable to ${reference} (must force) - container ${users[0]!.id.slice(0, 12)} is using its referenced image ${id.slice(7, 19)}`);
    }
    // A forced name removal only untags an image containers use; a forced id removal deletes it from under stopped ones.
    for (const tag of removing) this.images.delete(tag);
    const items: ImageDeleteItem[] = removing.map((tag) => ({ Untagged: tag }));
    if (last && (users.length === 0 || byId)) items.push({ Deleted: id });
    return items;
  }

  // ---- the engine's behaviour ----

  /** The exec'd process ended: its exit code is set before its connection ends, as the engine does. */
  private endExec(exec: FakeExec, exitCode: number): void {
    if (!exec.running) return;
    exec.running = false;
    exec.exitCode = exitCode;
    exec.connection?.push(null);
  }

  /** The names of a local image, `repository:tag`. */
  private tagsOf(id: string): string[] {
    return [...this.images.entries()].filter(([, imageId]) => imageId === id).map(([reference]) => reference);
  }

  /** Every call: counted, then held by hang, refused when down, or failed by failNext. */
  private async enter(method: EngineMethod, signal: AbortSignal | undefined): Promise<void> {
    this.calls[method]++;
    // A real engine call is never synchronous; neither is this one.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const held = this.hangs.get(method);
    if (held) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          held.delete(resume);
          this.aborted[method]++;
          reject(abortError());
        };
        const resume = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        held.add(resume);
        if (signal?.aborted) onAbort();
        else signal?.addEventListener("abort", onAbort, { once: true });
      });
    }
    if (signal?.aborted) throw abortError();
    if (!this.reachable) throw connectionError(this.downCode, new URL(this.endpoint).pathname || this.endpoint);
    const failure = this.failures.get(method)?.shift();
    if (failure) throw failure;
  }

  private error(method: EngineMethod, statusCode: number, message: string): Error {
    return dockerodeError(statusCode, message, dockerodeReasons[method]?.[statusCode]);
  }

  /** The engine's lookup: full id, then name, then unique id prefix. */
  private find(reference: string): FakeContainer | undefined {
    const exact = this.containers.get(reference);
    if (exact) return exact;
    const name = reference.replace(/^\//, "");
    const named = [...this.containers.values()].find((container) => container.name === name);
    if (named) return named;
    const prefixed = [...this.containers.values()].filter((container) => reference !== "" && container.id.startsWith(reference));
    if (prefixed.length > 1) throw dockerodeError(500, `multiple IDs found with provided prefix: ${reference}`, "server error");
    return prefixed[0];
  }

  private resolve(method: EngineMethod, reference: string): FakeContainer {
    let container: FakeContainer | undefined;
    try {
      container = this.find(reference);
    } catch (error) {
      throw Object.assign(error as Error, { reason: dockerodeReasons[method]?.[500] });
    }
    if (!container) throw this.error(method, 404, `No such container: ${reference}`);
    return container;
  }

  private must(reference: string): FakeContainer {
    const container = this.find(reference);
    if (!container) throw new Error(`FakeEngine: no container ${JSON.stringify(reference)}`);
    return container;
  }

  private lookupImage(reference: string): string | undefined {
    const bareId = /^(?:sha256:)?([0-9a-f]{64})$/.exec(reference)?.[1];
    if (bareId) return [...this.images.values()].find((id) => id === `sha256:${bareId}`);
    return this.images.get(normaliseImage(reference));
  }

  private registryPull(reference: string, auth: RegistryAuth | undefined): PullScript {
    const [host, ...path] = reference.split("/");
    const registryHost = host?.includes(".") || host?.includes(":") ? host : "registry-1.docker.io";
    const repository = (registryHost === host ? path : [host, ...path]).join("/").replace(/[:@].*$/, "");
    if (!this.registry.has(reference)) {
      return { httpError: { statusCode: 404, message: `manifest for ${reference} not found: manifest unknown: manifest unknown` } };
    }
    const wanted = this.registry.get(reference);
    const manifest = `http://${registryHost}/v2/${repository}/manifests/${reference.split(/[:@]/).at(-1)}`;
    if (wanted && !auth?.username) {
      return { httpError: { statusCode: 500, message: `Head "${manifest}": no basic auth credentials` } };
    }
    if (wanted && (auth?.username !== wanted.username || auth?.password !== wanted.password)) {
      return { httpError: { statusCode: 500, message: `Head "${manifest}": unauthorized: authentication required` } };
    }
    return {};
  }

  private newContainer(
    id: string,
    name: string,
    image: string,
    createdNano: bigint,
    details: Pick<FakeContainer, "labels" | "command" | "autoRemove" | "tty" | "portBindings" | "mounts">,
  ): FakeContainer {
    if (!/^[0-9a-f]{64}$/.test(id)) throw new Error(`FakeEngine: a container id is 64 hex digits, not ${JSON.stringify(id)}`);
    if (this.containers.has(id) || [...this.containers.values()].some((container) => container.name === name)) {
      throw new Error(`FakeEngine: a container ${JSON.stringify(name)} or ${id} exists already`);
    }
    const container: FakeContainer = {
      id,
      name,
      image,
      imageId: this.lookupImage(image) ?? imageIdOf(normaliseImage(image)),
      createdNano,
      state: "created",
      exitCode: 0,
      error: "",
      boundPorts: {},
      reactions: new Map(),
      logs: [],
      ...details,
    };
    this.containers.set(id, container);
    return container;
  }

  /** Starts a container: binds its ports (or fails as the engine does when one is taken). */
  private start(container: FakeContainer, method: EngineMethod = "startContainer"): void {
    const bound: FakeContainer["boundPorts"] = {};
    const taken = new Set<string>();
    for (const other of this.containers.values()) {
      for (const [key, bindings] of Object.entries(other.boundPorts)) {
        for (const binding of bindings) taken.add(`${key.split("/")[1]}:${binding.HostPort}`);
      }
    }
    for (const [key, bindings] of Object.entries(container.portBindings)) {
      const protocol = key.split("/")[1] ?? "tcp";
      bound[key] = [];
      for (const binding of bindings) {
        let port = binding.HostPort;
        if (port === "" || port === "0") {
          while (taken.has(`${protocol}:${this.nextEphemeralPort}`)) this.nextEphemeralPort++;
          port = String(this.nextEphemeralPort++);
        } else if (taken.has(`${protocol}:${port}`)) {
          const message = `driver failed programming external connectivity on endpoint ${container.name} (${randomBytes(32).toString("hex")}): Bind for ${binding.HostIp || "0.0.0.0"}:${port} failed: port is already allocated`;
          container.error = message;
          container.exitCode = 128;
          throw this.error(method, 500, message);
        }
        taken.add(`${protocol}:${port}`);
        // An empty HostIp publishes on every address, which the engine reports for IPv4 and IPv6.
        const ips = binding.HostIp === "" ? ["0.0.0.0", "::"] : [binding.HostIp];
        bound[key].push(...ips.map((HostIp) => ({ HostIp, HostPort: port })));
      }
    }
    container.boundPorts = bound;
    this.begin(container);
  }

  private begin(container: FakeContainer): void {
    container.state = "running";
    container.exitCode = 0;
    container.error = "";
    container.startedAt = this.clock();
    this.emit("start", container);
  }

  /** `docker stop`: the stop signal, then SIGKILL once the grace period (which passes at once here) is over. */
  private stop(container: FakeContainer): void {
    this.deliver(container, "SIGTERM");
    if (container.state === "running") this.deliver(container, "SIGKILL");
    this.emit("stop", container);
  }

  private deliver(container: FakeContainer, signal: string): void {
    this.emit("kill", container, { signal: String(constants.signals[signal as keyof typeof constants.signals] ?? signal) });
    // The main process is PID 1, which the kernel spares every signal it installed no handler for.
    const reaction = signal === "SIGKILL" ? 137 : (container.reactions.get(signal) ?? "ignore");
    if (reaction !== "ignore") this.finish(container, reaction);
  }

  /** The main process ended: state, ports, waiters, log followers, and auto_remove. */
  private finish(container: FakeContainer, exitCode: number): void {
    container.state = "exited";
    container.exitCode = exitCode;
    container.finishedAt = this.clock();
    container.boundPorts = {};
    for (const exec of this.execs.values()) if (exec.containerId === container.id) this.endExec(exec, 137);
    this.emit("die", container, { exitCode: String(exitCode) });
    this.settleWaiters(container, ["not-running", "next-exit"]);
    for (const follower of this.followers) {
      if (follower.id !== container.id) continue;
      follower.stream.end();
      this.followers.delete(follower);
    }
    if (container.autoRemove) this.destroy(container);
  }

  private destroy(container: FakeContainer): void {
    this.containers.delete(container.id);
    this.stats.delete(container.id);
    // The engine ends a removed container's stats streams.
    for (const follower of this.statsFollowers) {
      if (follower.id !== container.id) continue;
      clearInterval(follower.timer);
      this.statsFollowers.delete(follower);
      follower.stream.end();
    }
    this.emit("destroy", container);
    this.settleWaiters(container, ["not-running", "next-exit", "removed"]);
  }

  private settleWaiters(container: FakeContainer, conditions: string[]): void {
    for (const waiter of this.waiters) {
      if (waiter.id !== container.id || !conditions.includes(waiter.condition)) continue;
      this.waiters.delete(waiter);
      waiter.resolve(waitResponse(container));
    }
  }

  private emit(action: string, container: FakeContainer, extra: Record<string, string> = {}): void {
    const timeNano = this.clock();
    const event: EventFacts = {
      action,
      id: container.id,
      name: container.name,
      labels: container.labels,
    };
    const attributes = { ...container.labels, image: container.image, name: container.name, ...extra };
    const body = {
      status: action,
      id: container.id,
      from: container.image,
      Type: "container",
      Action: action,
      Actor: { ID: container.id, Attributes: attributes },
      scope: "local",
      time: Number(timeNano / 1_000_000_000n),
      timeNano: "TIME_NANO",
    };
    // timeNano has 19 digits, more than a double holds: written as the engine writes it, a bare integer.
    const line = JSON.stringify(body).replace('"TIME_NANO"', timeNano.toString());
    this.history.push({ timeNano, line, event });
    if (this.history.length > 10_000) this.history.shift();
    for (const subscriber of this.subscribers) {
      if (matchesEventFilters(event, subscriber.filters)) subscriber.stream.write(`${line}\n`);
    }
  }

  private sendStats(follower: StatsFollower): void {
    const container = this.containers.get(follower.id);
    if (!container) return;
    const sample = this.statsSample(container, follower.previous);
    follower.previous = sample.cpu_stats;
    follower.stream.write(`${JSON.stringify(sample)}\n`);
  }

  /** One sample as the engine writes it: empty (zero time) when the container is not running. */
  private statsSample(container: FakeContainer, previous: object | undefined): { cpu_stats?: object } & Record<string, unknown> {
    const base = { id: container.id, name: `/${container.name}` };
    if (container.state !== "running") return { ...base, read: zeroTime, preread: zeroTime, precpu_stats: {}, memory_stats: {} };
    const entry = this.stats.get(container.id) ?? { figures: idleStats(), cycles: 0 };
    this.stats.set(container.id, entry);
    entry.cycles++;
    const f = entry.figures;
    const cpu_stats = {
      cpu_usage: { total_usage: f.cpuPerCycle * entry.cycles },
      system_cpu_usage: 1e9 * f.onlineCpus * entry.cycles,
      online_cpus: f.onlineCpus,
    };
    return {
      ...base,
      read: new Date().toISOString(),
      cpu_stats,
      precpu_stats: previous ?? { cpu_usage: { total_usage: 0 } },
      memory_stats: { usage: f.memoryUsage, limit: f.memoryLimit, stats: { total_inactive_file: f.inactiveFile } },
      networks: { eth0: { rx_bytes: f.rxBytes, tx_bytes: f.txBytes } },
      blkio_stats: { io_service_bytes_recursive: [{ op: "Read", value: f.readBytes }, { op: "Write", value: f.writeBytes }] },
      pids_stats: { current: f.pids },
    };
  }

  /** Nanoseconds since the epoch, strictly increasing, so events and log lines have an order. */
  private clock(): bigint {
    const now = BigInt(Date.now()) * 1_000_000n;
    this.lastNano = now > this.lastNano ? now : this.lastNano + 1n;
    return this.lastNano;
  }

  /** Ends a stream, as an aborted engine request does, when its signal fires. */
  private closeOnAbort(stream: Readable, signal: AbortSignal, forget: () => void): void {
    const onAbort = () => stream.destroy(abortError());
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    stream.once("close", () => {
      signal.removeEventListener("abort", onAbort);
      forget();
    });
  }
}

function idleStats(): FakeStats {
  return {
    cpuPerCycle: 0,
    onlineCpus: 2,
    memoryUsage: 4 << 20,
    inactiveFile: 1 << 20,
    memoryLimit: 2 << 30,
    rxBytes: 0,
    txBytes: 0,
    readBytes: 0,
    writeBytes: 0,
    pids: 1,
  };
}

interface EventFacts {
  action: string;
  id: string;
  name: string;
  labels: Record<string, string>;
}

function matchesEventFilters(event: EventFacts, filters: Record<string, string[]>): boolean {
  if (filters.type && !filters.type.includes("container")) return false;
  if (filters.event && !filters.event.includes(event.action)) return false;
  if (filters.container && !filters.container.some((ref) => event.id.startsWith(ref) || event.name === ref.replace(/^\//, ""))) return false;
  return (filters.label ?? []).every((filter) => matchesLabelFilter(event.labels, filter));
}

/** The engine's `label` filter: `key` (present) or `key=value`. */
function matchesLabelFilter(labels: Record<string, string>, filter: string): boolean {
  const equals = filter.indexOf("=");
  if (equals === -1) return filter in labels;
  return labels[filter.slice(0, equals)] === filter.slice(equals + 1);
}

/** The engine's list filters: every `label` must match; any one value of the others. */
function matchesListFilters(container: FakeContainer, filters: Record<string, string[]>): boolean {
  if (!(filters.label ?? []).every((filter) => matchesLabelFilter(container.labels, filter))) return false;
  const any = (key: string, test: (value: string) => boolean) => !filters[key]?.length || filters[key].some(test);
  return (
    any("status", (status) => status === container.state) &&
    // Names are matched as regular expressions against "/name", as `docker ps --filter name=^/web$` expects.
    any("name", (pattern) => new RegExp(pattern).test(`/${container.name}`)) &&
    any("id", (prefix) => container.id.startsWith(prefix)) &&
    any("volume", (volume) => container.mounts.some((mount) => mount.Name === volume || mount.Destination === volume))
  );
}

function inspectOf(container: FakeContainer): ContainerInspect & Record<string, unknown> {
  const running = container.state === "running";
  const ports: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  if (running) {
    for (const key of Object.keys(container.body?.ExposedPorts ?? container.portBindings)) ports[key] = container.boundPorts[key] ?? null;
  }
  return structuredClone({
    Id: container.id,
    Created: timeString(container.createdNano),
    Path: container.command[0] ?? "",
    Args: container.command.slice(1),
    State: {
      Status: container.state,
      Running: running,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: running ? 4242 : 0,
      ExitCode: container.exitCode,
      Error: container.error,
      StartedAt: container.startedAt === undefined ? zeroTime : timeString(container.startedAt),
      FinishedAt: container.finishedAt === undefined ? zeroTime : timeString(container.finishedAt),
    },
    Image: container.imageId,
    Name: `/${container.name}`,
    RestartCount: 0,
    HostConfig: {
      AutoRemove: container.autoRemove,
      PortBindings: container.portBindings,
      RestartPolicy: container.body?.HostConfig.RestartPolicy ?? { Name: "", MaximumRetryCount: 0 },
      SecurityOpt: container.body?.HostConfig.SecurityOpt ?? null,
      CapDrop: container.body?.HostConfig.CapDrop ?? null,
      Memory: container.body?.HostConfig.Memory ?? 0,
      NanoCpus: container.body?.HostConfig.NanoCpus ?? 0,
    },
    Mounts: container.mounts.map((mount) => ({ ...mount, Mode: "", Propagation: mount.Type === "bind" ? "rprivate" : "" })),
    Config: {
      Image: container.image,
      Labels: container.labels,
      Tty: container.tty,
      Cmd: container.body?.Cmd ?? null,
      Entrypoint: container.body?.Entrypoint ?? null,
      Env: container.body?.Env ?? [],
      WorkingDir: container.body?.WorkingDir ?? "",
      User: container.body?.User ?? "",
      ...(container.stopTimeout === undefined ? {} : { StopTimeout: container.stopTimeout }),
    },
    NetworkSettings: { Ports: ports },
  });
}

function summaryOf(container: FakeContainer): ContainerSummary & Record<string, unknown> {
  const ports = Object.entries(container.boundPorts).flatMap(([key, bindings]) => {
    const [privatePort = "0", type = "tcp"] = key.split("/");
    return bindings.map((binding) => ({ IP: binding.HostIp, PrivatePort: Number(privatePort), PublicPort: Number(binding.HostPort), Type: type }));
  });
  return structuredClone({
    Id: container.id,
    Names: [`/${container.name}`],
    Image: container.image,
    ImageID: container.imageId,
    Command: container.command.join(" "),
    Created: Number(container.createdNano / 1_000_000_000n),
    Ports: ports,
    Labels: container.labels,
    State: container.state,
    Status: container.state === "running" ? "Up" : container.state === "exited" ? `Exited (${container.exitCode})` : "Created",
    Mounts: container.mounts.map((mount) => ({ ...mount, Mode: "", Propagation: "" })),
  });
}

function waitResponse(container: FakeContainer): ContainerWaitResponse {
  return { StatusCode: container.exitCode, Error: container.error ? { Message: container.error } : null };
}

/** One log line as the engine sends it: with its time when asked, framed unless the container has a TTY. */
function writeLogEntry(stream: PassThrough, entry: LogEntry, query: ContainerLogsQuery, tty: boolean): void {
  if (entry.stream === "stdout" ? !query.stdout : !query.stderr) return;
  const payload = query.timestamps ? Buffer.concat([Buffer.from(`${timeString(entry.timeNano)} `), entry.data]) : entry.data;
  if (tty) {
    stream.write(payload);
    return;
  }
  const header = Buffer.alloc(8);
  header[0] = entry.stream === "stdout" ? 1 : 2;
  header.writeUInt32BE(payload.length, 4);
  stream.write(Buffer.concat([header, payload]));
}

function defaultProgress(reference: string): object[] {
  const tag = reference.split(/[:@]/).at(-1) ?? "latest";
  const layer = createHash("sha256").update(reference).digest("hex").slice(0, 12);
  return [
    { status: `Pulling from ${reference.replace(/[:@][^/]*$/, "")}`, id: tag },
    { status: "Pulling fs layer", progressDetail: {}, id: layer },
    { status: "Downloading", progressDetail: { current: 512, total: 1024 }, progress: "[=====>     ]", id: layer },
    { status: "Download complete", progressDetail: {}, id: layer },
    { status: "Pull complete", progressDetail: {}, id: layer },
    { status: `Digest: sha256:${createHash("sha256").update(`digest ${reference}`).digest("hex")}` },
    { status: `Status: Downloaded newer image for ${reference}` },
  ];
}

/** `busybox` and `docker.io/library/busybox:latest` name the same image, as they do for the engine. */
function normaliseImage(reference: string): string {
  let name = reference.replace(/^docker\.io\//, "").replace(/^library\//, "");
  if (!/@/.test(name) && !/:[^/]*$/.test(name)) name = `${name}:latest`;
  return name;
}

function imageIdOf(reference: string): string {
  return `sha256:${createHash("sha256").update(`image ${reference}`).digest("hex")}`;
}

/** `SIGTERM`, `TERM` or `15`, as the engine takes a signal. */
function signalName(signal: string): string {
  if (/^\d+$/.test(signal)) {
    const found = Object.entries(constants.signals).find(([, number]) => number === Number(signal));
    return found?.[0] ?? signal;
  }
  const upper = signal.toUpperCase();
  return upper.startsWith("SIG") ? upper : `SIG${upper}`;
}

/** RFC 3339 with nanoseconds, as the engine writes times. */
function timeString(timeNano: bigint): string {
  const millis = Number(timeNano / 1_000_000n);
  const nanos = (timeNano % 1_000_000_000n).toString().padStart(9, "0");
  return `${new Date(millis).toISOString().slice(0, 19)}.${nanos}Z`;
}

/** The engine's `since`/`until`: unix seconds with up to nine decimals. */
function engineTimeNano(value: string): bigint {
  const [seconds = "0", fraction = ""] = value.split(".");
  return BigInt(seconds) * 1_000_000_000n + BigInt(fraction.padEnd(9, "0").slice(0, 9) || "0");
}
