import type { RunSpec } from "./run-spec.js";

/**
 * What an operator allows clients to run. The API has no field for
 * privileged mode, host namespaces, capabilities, devices, unconfined
 * profiles or bind mounts at all; this covers what it does expose.
 */
export interface RunPolicy {
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

export const openRunPolicy: RunPolicy = { allowedImages: [], hostPortMin: 1024, hostPortMax: 65535 };

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
  const repository = spec.image.repository;
  if (policy.allowedImages.length > 0 && !policy.allowedImages.some((pattern) => globMatches(pattern, repository))) {
    throw new PolicyViolationError("OSIRIS_ALLOWED_IMAGES", `image repository ${JSON.stringify(repository)} is not allowed`);
  }
  for (const port of spec.ports) {
    if (port.hostPort !== 0 && (port.hostPort < policy.hostPortMin || port.hostPort > policy.hostPortMax)) {
      throw new PolicyViolationError(
        "OSIRIS_HOST_PORT_RANGE",
        `host port ${port.hostPort} is outside ${policy.hostPortMin}-${policy.hostPortMax}`,
      );
    }
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

function globMatches(pattern: string, value: string): boolean {
  const escaped = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`).test(value);
}
