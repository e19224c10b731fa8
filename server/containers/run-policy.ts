import { realpathSync } from "node:fs";
import path from "node:path";
import type { ImageReference } from "./image-reference.js";
import type { MountSpec, RunSpec } from "./run-spec.js";

/** Where engines put their API socket. Mounting it, or a folder holding it, hands over the engine. */
const dockerSocketPaths = ["/var/run/docker.sock", "/run/docker.sock"];

/**
 * What an operator allows clients to run. The API has no field for
 * privileged mode, host namespaces, capabilities, devices, unconfined
 * profiles or bind mounts at all; this covers what it does expose.
 */
export interface RunPolicy {
  /** Host folders whose contents may be bind-mounted; empty refuses every bind mount. */
  bindMountAllowlist: string[];
  /** Repository patterns (`*` matches anything, e.g. `127.0.0.1:5000/*`); empty allows every image. */
  allowedImages: string[];
  /** Lowest and highest host port a client may ask for; 0 (engine's choice) is always allowed. */
  hostPortMin: number;
  hostPortMax: number;
  maxMemoryBytes?: number;
  maxNanoCpus?: number;
  /** How many managed containers may exist at once, in any state. */
  maxManagedContainers?: number;
}

export const openRunPolicy: RunPolicy = { bindMountAllowlist: [], allowedImages: [], hostPortMin: 1024, hostPortMax: 65535 };

/** Runs and pulls alike may only touch the repositories OSIRIS_ALLOWED_IMAGES names. */
export function checkImageAllowed(image: ImageReference, policy: RunPolicy): void {
  const repository = image.repository;
  if (policy.allowedImages.length > 0 && !policy.allowedImages.some((pattern) => globMatches(pattern, repository))) {
    throw new PolicyViolationError("OSIRIS_ALLOWED_IMAGES", `image repository ${JSON.stringify(repository)} is not allowed`);
  }
}

/** A request the operator's policy forbids; `rule` is the setting that forbids it. */
export class PolicyViolationError extends Error {
  constructor(
    readonly rule: string,
    problem: string,
  ) {
    super(`Refused by policy ${rule}: ${problem}`);
    this.name = "PolicyViolationError";
  }
}

export function checkRunPolicy(spec: RunSpec, policy: RunPolicy): void {
  checkImageAllowed(spec.image, policy);
  for (const port of spec.ports) {
    if (port.hostPort !== 0 && (port.hostPort < policy.hostPortMin || port.hostPort > policy.hostPortMax)) {
      throw new PolicyViolationError(
        "OSIRIS_HOST_PORT_RANGE",
        `host port ${port.hostPort} is outside ${policy.hostPortMin}-${policy.hostPortMax}`,
      );
    }
  }
  for (const mount of spec.mounts) {
    if (mount.type === "bind") checkBindMount(mount, policy.bindMountAllowlist);
  }
  if (policy.maxMemoryBytes !== undefined && (spec.memoryBytes === undefined || spec.memoryBytes > policy.maxMemoryBytes)) {
    throw new PolicyViolationError(
      "OSIRIS_MAX_MEMORY_BYTES",
      `memory_bytes must be set and at most ${policy.maxMemoryBytes}`,
    );
  }
  if (policy.maxNanoCpus !== undefined && (spec.nanoCpus === undefined || spec.nanoCpus > policy.maxNanoCpus)) {
    throw new PolicyViolationError(
      "OSIRIS_MAX_CPU_MILLICORES",
      `a CPU limit must be set and at most ${policy.maxNanoCpus / 1_000_000} millicores`,
    );
  }
}

function checkBindMount(mount: MountSpec, allowlist: string[]): void {
  const lexical = path.posix.normalize(mount.source);
  // Where Osiris shares the host's filesystem, follow symlinks as the engine will.
  const resolved = resolvedPath(lexical);
  for (const candidate of new Set([lexical, resolved])) {
    if (dockerSocketPaths.some((socket) => isSameOrInside(socket, candidate))) {
      throw new PolicyViolationError("DOCKER_SOCKET", `bind mount of ${JSON.stringify(mount.source)} would expose the Docker socket; it is never allowed`);
    }
    if (!allowlist.some((allowed) => isSameOrInside(candidate, path.posix.normalize(allowed)))) {
      throw new PolicyViolationError(
        "OSIRIS_BIND_MOUNT_ALLOWLIST",
        `bind mount of ${JSON.stringify(candidate)} is not under an allowed host folder`,
      );
    }
  }
}

function resolvedPath(hostPath: string): string {
  try {
    return realpathSync(hostPath);
  } catch {
    return hostPath;
  }
}

/** Segment-wise: /srv/data contains /srv/data/x but not /srv/database. */
function isSameOrInside(child: string, parent: string): boolean {
  const relative = path.posix.relative(parent, child);
  return relative === "" || (!relative.startsWith("..") && !path.posix.isAbsolute(relative));
}

function globMatches(pattern: string, value: string): boolean {
  const escaped = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`).test(value);
}
