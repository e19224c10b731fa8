import { PolicyViolationError } from "../errors.js";
import type { ImageReference } from "../grammar/image-reference.js";
import type { RunSpec } from "../run-spec.js";

/**
 * What an operator allows clients to run. The API has no field for
 * privileged mode, host namespaces, capabilities, devices or unconfined
 * profiles at all; this covers what it does expose. Bind mounts are checked
 * against the host's filesystem in bind-mounts.ts, volumes in volume-claims.ts.
 */
export interface RunPolicy {
  /** Host folders whose contents may be bind-mounted, read-only; empty refuses every bind mount. */
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
  /** How many ports one Run may publish: each costs the host a proxy process (docker-proxy). */
  maxPortsPerRun: number;
  /** Where a port with an empty host_ip is published. */
  defaultHostIp: string;
  /** Processes (and threads) one container may hold, so a fork bomb stays inside it. */
  maxPidsPerContainer: number;
}

export const openRunPolicy: RunPolicy = {
  bindMountAllowlist: [],
  allowedImages: [],
  hostPortMin: 1024,
  hostPortMax: 65535,
  maxPortsPerRun: 32,
  defaultHostIp: "127.0.0.1",
  maxPidsPerContainer: 4096,
};

/** Runs and pulls alike may only touch the repositories OSIRIS_ALLOWED_IMAGES names. */
export function checkImageAllowed(image: ImageReference, policy: RunPolicy): void {
  const repository = image.repository;
  if (policy.allowedImages.length > 0 && !policy.allowedImages.some((pattern) => globMatches(pattern, repository))) {
    throw new PolicyViolationError("OSIRIS_ALLOWED_IMAGES", `image repository ${JSON.stringify(repository)} is not allowed`);
  }
}

export function checkRunPolicy(spec: RunSpec, policy: RunPolicy): void {
  checkImageAllowed(spec.image, policy);
  if (spec.ports.length > policy.maxPortsPerRun) {
    throw new PolicyViolationError(
      "OSIRIS_MAX_PORTS_PER_RUN",
      `ports publishes ${spec.ports.length} ports; at most ${policy.maxPortsPerRun} are allowed per run`,
    );
  }
  for (const port of spec.ports) {
    if (port.hostPort !== 0 && (port.hostPort < policy.hostPortMin || port.hostPort > policy.hostPortMax)) {
      throw new PolicyViolationError(
        "OSIRIS_HOST_PORT_RANGE",
        `host port ${port.hostPort} is outside ${policy.hostPortMin}-${policy.hostPortMax}`,
      );
    }
  }
  spec.mounts.forEach((mount, index) => {
    // Request validation refuses this first; kept so no caller can bypass it.
    if (mount.type === "bind" && !mount.readOnly) {
      throw new PolicyViolationError("READ_ONLY_BIND_MOUNTS", `mounts[${index}] is a writable bind mount; host paths are only ever mounted read-only`);
    }
  });
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

function globMatches(pattern: string, value: string): boolean {
  const escaped = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`).test(value);
}
