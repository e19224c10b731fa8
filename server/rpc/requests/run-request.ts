import { isIP } from "node:net";
import { containerNameProblem } from "../../containers/grammar/container-name.js";
import { parseImageReference, type ImageReference } from "../../containers/grammar/image-reference.js";
import { reservedLabelPrefix } from "../../containers/grammar/labels.js";
import type { MountSpec, PortSpec, RestartPolicySpec, RunSpec } from "../../containers/run-spec.js";
import {
  RestartPolicyMode,
  type Mount,
  type PortMapping,
  type Resources,
  type RestartPolicy,
  type RunDockerContainerRequest,
} from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { mountTypes, protocols, pullPolicies, restartPolicyModes } from "../enums.js";
import { registryCredentials } from "./registry-credentials.js";
import { Violations } from "./violations.js";

/** The engine refuses less: "Minimum memory limit allowed is 6MB". */
const minMemoryBytes = 6 * 1024 * 1024;
const minCpuMillicores = 10;
const minNanoCpus = 10_000_000;
const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;
const userPattern = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*(?::[A-Za-z0-9_.][A-Za-z0-9_.-]*)?$/;

/** Far above any user or group name Linux accepts (32 characters each); the engine would echo a longer one back in full. */
const userMaxLength = 256;

/** The `user` of a Run or an Exec: empty (the image's), or name, uid, name:group or uid:gid. */
export function checkUser(user: string, violations: Violations): void {
  if (user.length > userMaxLength) {
    violations.add("user", `has ${user.length} characters; at most ${userMaxLength} (name, uid, name:group or uid:gid)`);
  } else if (user !== "" && !userPattern.test(user)) {
    violations.add("user", "must be name, uid, name:group or uid:gid");
  }
}

/** The `working_dir` of a Run or an Exec: empty (the image's), or an absolute path. */
export function checkWorkingDir(workingDir: string, violations: Violations): void {
  if (workingDir !== "" && (!workingDir.startsWith("/") || workingDir.includes("\0"))) {
    violations.add("working_dir", "must be an absolute path");
  }
}

/**
 * Bounds on the repeated fields, each far above what a real container needs
 * and documented on its proto field. Without them a 4 MiB binary request
 * holds a million entries, each kept and sent on to the engine.
 */
export const runRequestBounds = {
  ports: 1024,
  commandEntries: 4096,
  envEntries: 4096,
  mounts: 64,
  labelEntries: 256,
  /** Keys and values together: the engine copies a container's labels into every event it emits about it. */
  labelBytes: 64 * 1024,
} as const;

export function runSpecFromRequest(request: RunDockerContainerRequest): RunSpec {
  const violations = new Violations();
  const image = imageField(request.image, violations);
  if (request.name !== "") {
    const problem = containerNameProblem(request.name);
    if (problem) violations.add("name", problem);
  }
  checkEnv(request.env, violations);
  const ports = withinCount("ports", request.ports, runRequestBounds.ports, violations) ? portSpecs(request.ports, violations) : [];
  checkStrings("command", request.command, violations);
  checkStrings("entrypoint", request.entrypoint, violations);
  checkLabels(request.labels, violations);
  const pullPolicy = pullPolicies.toDomain(request.pullPolicy);
  if (pullPolicy === undefined) violations.add("pull_policy", `unknown value ${request.pullPolicy}`);
  const restartPolicy = restartPolicySpec(request.restartPolicy, violations);
  if (request.autoRemove && restartPolicy.mode !== "no") {
    violations.add("auto_remove", `cannot be combined with restart policy "${restartPolicy.mode}"`);
  }
  const limits = resourceLimits(request.resources, violations);
  const mounts = withinCount("mounts", request.mounts, runRequestBounds.mounts, violations)
    ? mountSpecs(request.mounts, violations)
    : [];
  checkWorkingDir(request.workingDir, violations);
  checkUser(request.user, violations);
  if (request.requestId !== "" && !requestIdPattern.test(request.requestId)) {
    violations.add("request_id", "must be 1 to 128 characters of [A-Za-z0-9._:-]");
  }
  violations.throwIfAny();
  return {
    requestId: request.requestId || undefined,
    image: image!,
    name: request.name || undefined,
    env: { ...request.env },
    ports,
    command: [...request.command],
    entrypoint: [...request.entrypoint],
    labels: { ...request.labels },
    pullPolicy: pullPolicy!,
    restartPolicy,
    ...limits,
    workingDir: request.workingDir || undefined,
    user: request.user || undefined,
    autoRemove: request.autoRemove,
    registryAuth: registryCredentials(request.registryAuth),
    mounts,
  };
}

/** Checks a repeated field's length; an oversized one gets one violation, not one per entry. */
function withinCount(field: string, values: readonly unknown[], max: number, violations: Violations): boolean {
  if (values.length <= max) return true;
  violations.add(field, `has ${values.length} entries; at most ${max}`);
  return false;
}

function imageField(image: string, violations: Violations): ImageReference | undefined {
  const parsed = parseImageReference(image);
  if (parsed.ok) return parsed.reference;
  violations.add("image", parsed.reason);
  return undefined;
}

// Env values may be secrets: descriptions name the key, never the value.
export function checkEnv(env: Record<string, string>, violations: Violations): void {
  if (!withinCount("env", Object.keys(env), runRequestBounds.envEntries, violations)) return;
  for (const [key, value] of Object.entries(env)) {
    const field = `env[${JSON.stringify(key)}]`;
    if (key === "") violations.add(field, "key must not be empty");
    else if (key.includes("=")) violations.add(field, "key must not contain '='");
    else if (key.includes("\0")) violations.add(field, "key must not contain NUL");
    if (value.includes("\0")) violations.add(field, "value must not contain NUL");
  }
}

function checkLabels(labels: Record<string, string>, violations: Violations): void {
  const keys = Object.keys(labels);
  if (!withinCount("labels", keys, runRequestBounds.labelEntries, violations)) return;
  const bytes = keys.reduce((total, key) => total + Buffer.byteLength(key) + Buffer.byteLength(labels[key]!), 0);
  if (bytes > runRequestBounds.labelBytes) {
    violations.add("labels", `keys and values total ${bytes} bytes; at most ${runRequestBounds.labelBytes} (64 KiB)`);
    return;
  }
  for (const [key, value] of Object.entries(labels)) {
    const field = `labels[${JSON.stringify(key)}]`;
    if (key === "") violations.add(field, "key must not be empty");
    else if (key.startsWith(reservedLabelPrefix)) {
      violations.add(field, `keys starting with "${reservedLabelPrefix}" are reserved for Osiris`);
    }
    if (key.includes("\0") || value.includes("\0")) violations.add(field, "must not contain NUL");
  }
}

export function checkStrings(field: string, values: string[], violations: Violations): void {
  if (!withinCount(field, values, runRequestBounds.commandEntries, violations)) return;
  values.forEach((value, index) => {
    if (value.includes("\0")) violations.add(`${field}[${index}]`, "must not contain NUL");
  });
}

function portSpecs(ports: PortMapping[], violations: Violations): PortSpec[] {
  const seen = new Map<string, number>();
  return ports.map((port, index) => {
    const field = `ports[${index}]`;
    const protocol = protocols.toDomain(port.protocol);
    if (protocol === undefined) violations.add(`${field}.protocol`, `unknown value ${port.protocol}`);
    if (port.containerPort < 1 || port.containerPort > 65535) {
      violations.add(`${field}.container_port`, "must be between 1 and 65535");
    }
    if (port.hostPort > 65535) violations.add(`${field}.host_port`, "must be between 0 and 65535");
    if (port.hostIp !== "" && isIP(port.hostIp) === 0) {
      violations.add(`${field}.host_ip`, `${JSON.stringify(port.hostIp)} is not an IPv4 or IPv6 address`);
    }
    const key = `${port.containerPort}/${protocol ?? port.protocol}`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, index);
    else violations.add(field, `container port ${key} is already published by ports[${first}]`);
    return { containerPort: port.containerPort, hostPort: port.hostPort, hostIp: port.hostIp, protocol: protocol ?? "tcp" };
  });
}

/** Docker's volume name rule. */
const volumeNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

function mountSpecs(mounts: Mount[], violations: Violations): MountSpec[] {
  const targets = new Map<string, number>();
  return mounts.map((mount, index) => {
    const field = `mounts[${index}]`;
    const type = mountTypes.toDomain(mount.type);
    if (type === undefined) violations.add(`${field}.type`, "must be MOUNT_TYPE_VOLUME, MOUNT_TYPE_BIND or MOUNT_TYPE_TMPFS");
    if (!mount.target.startsWith("/") || mount.target === "/" || mount.target.includes("\0")) {
      violations.add(`${field}.target`, "must be an absolute path other than /");
    } else {
      const first = targets.get(mount.target);
      if (first === undefined) targets.set(mount.target, index);
      else violations.add(`${field}.target`, `${mount.target} is already mounted by mounts[${first}]`);
    }
    if (type === "bind" && (!mount.source.startsWith("/") || mount.source.includes("\0"))) {
      violations.add(`${field}.source`, "must be an absolute host path");
    }
    // Refused, not silently made read-only: a program expecting to write would
    // otherwise fail later, inside the container, far from the cause.
    if (type === "bind" && !mount.readOnly) {
      violations.add(`${field}.read_only`, "must be true: host paths are only mounted read-only; use a named volume (MOUNT_TYPE_VOLUME) for writable storage");
    }
    if (type === "volume" && !volumeNamePattern.test(mount.source)) {
      violations.add(`${field}.source`, "must be a volume name matching [a-zA-Z0-9][a-zA-Z0-9_.-]+");
    }
    if (type === "tmpfs" && mount.source !== "") violations.add(`${field}.source`, "must be empty for tmpfs");
    return { type: type ?? "volume", source: mount.source, target: mount.target, readOnly: mount.readOnly };
  });
}

function restartPolicySpec(policy: RestartPolicy | undefined, violations: Violations): RestartPolicySpec {
  const mode = restartPolicyModes.toDomain(policy?.mode ?? RestartPolicyMode.UNSPECIFIED);
  if (mode === undefined) {
    violations.add("restart_policy.mode", `unknown value ${policy?.mode}`);
    return { mode: "no", maxRetryCount: 0 };
  }
  const maxRetryCount = policy?.maxRetryCount ?? 0;
  if (maxRetryCount > 0 && mode !== "on-failure") {
    violations.add("restart_policy.max_retry_count", "applies only to RESTART_POLICY_MODE_ON_FAILURE");
  }
  return { mode, maxRetryCount };
}

function resourceLimits(
  resources: Resources | undefined,
  violations: Violations,
): { memoryBytes?: number; nanoCpus?: number } {
  if (!resources) return {};
  const limits: { memoryBytes?: number; nanoCpus?: number } = {};
  const memory = resources.memoryBytes;
  if (memory < 0n || memory > BigInt(Number.MAX_SAFE_INTEGER)) {
    violations.add("resources.memory_bytes", "must be between 0 and 2^53-1");
  } else if (memory > 0n && memory < BigInt(minMemoryBytes)) {
    violations.add("resources.memory_bytes", `must be 0 (no limit) or at least ${minMemoryBytes} (6 MiB)`);
  } else if (memory > 0n) {
    limits.memoryBytes = Number(memory);
  }
  const cpu = resources.cpu;
  if (cpu.case === "cpuMillicores") {
    if (cpu.value < minCpuMillicores) violations.add("resources.cpu_millicores", `must be at least ${minCpuMillicores}`);
    else limits.nanoCpus = cpu.value * 1_000_000;
  } else if (cpu.case === "nanoCpus") {
    if (cpu.value < BigInt(minNanoCpus) || cpu.value > BigInt(Number.MAX_SAFE_INTEGER)) {
      violations.add("resources.nano_cpus", `must be at least ${minNanoCpus} (0.01 CPU)`);
    } else limits.nanoCpus = Number(cpu.value);
  }
  return limits;
}
