import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  MountType,
  PullPolicy,
  type MountSchema,
  RestartPolicyMode,
  type RunDockerContainerRequestSchema,
} from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { UsageError } from "../failures.js";
import { badFlag } from "./flag-error.js";
import { addEnvironmentFile, addEnvironmentVariable, addLabel } from "./key-values.js";
import { parsePublish } from "./ports.js";
import { parseCpus, parseMemory } from "./quantities.js";

export type RunRequestInit = MessageInitShape<typeof RunDockerContainerRequestSchema>;
type MountInit = MessageInitShape<typeof MountSchema>;

/** The flags of `osiris run`, as commander collects them (repeatable ones as lists). */
export interface RunFlags {
  detach?: boolean;
  name?: string;
  env?: string[];
  envFile?: string[];
  publish?: string[];
  pull?: string;
  restart?: string;
  memory?: string;
  cpus?: string;
  label?: string[];
  rm?: boolean;
  workdir?: string;
  user?: string;
  entrypoint?: string;
  volume?: string[];
  tmpfs?: string[];
}

/** docker's `--pull` values. */
const pullPolicies: Record<string, PullPolicy> = {
  missing: PullPolicy.IF_NOT_PRESENT,
  always: PullPolicy.ALWAYS,
  never: PullPolicy.NEVER,
};

/** docker's `--restart` names. */
const restartModes: Record<string, RestartPolicyMode> = {
  no: RestartPolicyMode.NO,
  always: RestartPolicyMode.ALWAYS,
  "unless-stopped": RestartPolicyMode.UNLESS_STOPPED,
  "on-failure": RestartPolicyMode.ON_FAILURE,
};

/**
 * `osiris run [FLAGS] IMAGE [COMMAND...]` -> RunDockerContainerRequest. Pure:
 * it reads no files except --env-file and sends nothing; every bad value is a
 * UsageError naming the flag. `--rm` without `-d` is done by the CLI after the
 * container exits (see commands/run.ts), so `autoRemove` is set only with `-d`.
 */
export function runRequest(
  image: string,
  command: string[],
  flags: RunFlags,
  environment: Record<string, string | undefined>,
): RunRequestInit {
  if (image === "") throw new UsageError('"run" requires an IMAGE argument');
  const env: Record<string, string> = {};
  for (const file of flags.envFile ?? []) addEnvironmentFile(file, env, environment);
  for (const spec of flags.env ?? []) addEnvironmentVariable(spec, env, environment);
  const labels: Record<string, string> = {};
  for (const spec of flags.label ?? []) addLabel(spec, labels);

  const restartPolicy = flags.restart === undefined ? undefined : parseRestart(flags.restart);
  if (flags.rm && restartPolicy !== undefined && restartPolicy.mode !== RestartPolicyMode.NO) {
    throw new UsageError("conflicting options: --restart and --rm (a container removed on exit cannot be restarted)");
  }

  const request: RunRequestInit = {
    image,
    command,
    env,
    labels,
    name: flags.name ?? "",
    ports: (flags.publish ?? []).flatMap(parsePublish),
    mounts: [...(flags.volume ?? []).map(parseVolume), ...(flags.tmpfs ?? []).map(parseTmpfs)],
    workingDir: flags.workdir ?? "",
    user: flags.user ?? "",
    entrypoint: flags.entrypoint === undefined ? [] : [flags.entrypoint],
    autoRemove: Boolean(flags.rm && flags.detach),
  };
  if (flags.pull !== undefined) {
    const policy = pullPolicies[flags.pull];
    if (policy === undefined) throw badFlag("--pull", flags.pull, "use missing, always or never");
    request.pullPolicy = policy;
  }
  if (restartPolicy !== undefined) request.restartPolicy = restartPolicy;
  if (flags.memory !== undefined || flags.cpus !== undefined) {
    const nanoCpus = flags.cpus === undefined ? 0n : parseCpus(flags.cpus);
    request.resources = {
      memoryBytes: flags.memory === undefined ? 0n : parseMemory(flags.memory),
      // --cpus 0 means no limit, as in docker.
      cpu: nanoCpus === 0n ? { case: undefined } : { case: "nanoCpus", value: nanoCpus },
    };
  }
  return request;
}

/** `no`, `always`, `unless-stopped`, `on-failure` or `on-failure:N`. */
export function parseRestart(text: string): { mode: RestartPolicyMode; maxRetryCount: number } {
  const [name = "", count, ...rest] = text.split(":");
  const mode = restartModes[name];
  if (mode === undefined || rest.length > 0) throw badFlag("--restart", text, "use no, always, unless-stopped or on-failure[:max-retries]");
  if (count === undefined) return { mode, maxRetryCount: 0 };
  if (mode !== RestartPolicyMode.ON_FAILURE) {
    throw badFlag("--restart", text, `a maximum retry count can only be used with on-failure, not ${name}`);
  }
  if (!/^\d+$/.test(count)) throw badFlag("--restart", text, "the maximum retry count must be a whole number");
  return { mode, maxRetryCount: Number(count) };
}

/**
 * `-v NAME:/path[:ro]` mounts a named volume Osiris owns; `-v /host:/path:ro`
 * binds a host path (Osiris only binds read-only, and says so if `:ro` is
 * missing). An anonymous `-v /path` has no proto counterpart.
 */
export function parseVolume(spec: string): MountInit {
  const [source = "", target, options, ...rest] = spec.split(":");
  if (target === undefined || rest.length > 0) {
    throw badFlag("-v, --volume", spec, "write NAME:/path[:ro] for a volume or /host/path:/path:ro for a bind (anonymous volumes are not supported)");
  }
  const optionList = options === undefined || options === "" ? [] : options.split(",");
  for (const option of optionList) {
    if (option !== "ro" && option !== "rw") throw badFlag("-v, --volume", spec, `unknown option "${option}": use ro or rw`);
  }
  return {
    type: source.startsWith("/") ? MountType.BIND : MountType.VOLUME,
    source,
    target,
    readOnly: optionList.includes("ro"),
  };
}

/** `--tmpfs /path`: a memory-backed filesystem. */
export function parseTmpfs(spec: string): MountInit {
  if (spec.includes(":")) throw badFlag("--tmpfs", spec, "tmpfs options are not supported; give the path only");
  return { type: MountType.TMPFS, source: "", target: spec, readOnly: false };
}
