// The facts the container service can report. The RPC layer turns each into a
// status code in one place (server/rpc/errors.ts); nothing here knows of codes.

export class ContainerNotFoundError extends Error {
  constructor(readonly container: string) {
    super(`Container not found: ${JSON.stringify(container)}`);
    this.name = "ContainerNotFoundError";
  }
}

/** An id prefix that matches more than one container the caller may see. */
export class AmbiguousContainerReferenceError extends Error {
  constructor(readonly container: string) {
    super(`Container reference ${JSON.stringify(container)} matches more than one container; give more characters of the id, or the name`);
    this.name = "AmbiguousContainerReferenceError";
  }
}

export class ContainerAlreadyStoppedError extends Error {
  constructor(readonly container: string) {
    super(`Container already stopped: ${JSON.stringify(container)}`);
    this.name = "ContainerAlreadyStoppedError";
  }
}

/**
 * A container whose mounts Osiris would no longer create: a writable bind
 * mount, made by an older Osiris. Starting it again would let the engine
 * resolve its bind source anew, which a container may have swapped.
 */
export class UnsafeMountsError extends Error {
  constructor(readonly container: string, detail: string) {
    super(`Container ${JSON.stringify(container)} has ${detail}, which Osiris no longer allows; it will not start it again. Remove it and run it with read-only binds and named volumes`);
    this.name = "UnsafeMountsError";
  }
}

/** An operation that needs the container's processes (exec) on a container that is stopped, paused or restarting. */
export class ContainerNotRunningError extends Error {
  constructor(
    readonly container: string,
    engineMessage?: string,
  ) {
    super(`Container not running: ${JSON.stringify(container)}${engineMessage ? ` (${engineMessage})` : ""}; start it (or unpause it) first`);
    this.name = "ContainerNotRunningError";
  }
}

/** The engine refused to remove an image: a container uses it (see RemoveDockerImage for when force overrides that), or other images are built on it. */
export class ImageInUseError extends Error {
  constructor(
    readonly image: string,
    engineMessage: string,
  ) {
    super(`Cannot remove image ${JSON.stringify(image)}: ${engineMessage}; remove the containers (or child images) using it first`);
    this.name = "ImageInUseError";
  }
}

export class ContainerAlreadyRunningError extends Error {
  constructor(readonly container: string) {
    super(`Container already running: ${JSON.stringify(container)}`);
    this.name = "ContainerAlreadyRunningError";
  }
}

/** The engine refused a removal: the container runs (and force was not set) or is already being removed. */
export class ContainerRemovalConflictError extends Error {
  constructor(
    readonly container: string,
    engineMessage: string,
  ) {
    super(`Cannot remove container ${JSON.stringify(container)}: ${engineMessage}`);
    this.name = "ContainerRemovalConflictError";
  }
}

/** An event watcher fell too far behind; it is dropped rather than slowing the others. */
export class WatcherTooSlowError extends Error {
  constructor(maxEvents: number, maxBytes: number) {
    super(
      `Watcher fell more than ${maxEvents} events or ${Math.round(maxBytes / 1024 / 1024)} MiB of events behind and was dropped; read faster or narrow the filters, then watch again`,
    );
    this.name = "WatcherTooSlowError";
  }
}

export class LogFollowerTooSlowError extends Error {
  constructor(maxBytes: number) {
    super(
      `Log follower fell more than ${Math.round(maxBytes / 1024 / 1024)} MiB of output behind the container and was dropped; read faster, or follow with tail_lines and since to start later`,
    );
    this.name = "LogFollowerTooSlowError";
  }
}

export class ImageNotFoundError extends Error {
  constructor(
    readonly image: string,
    readonly detail?: string,
  ) {
    super(`Image not found: ${JSON.stringify(image)}${detail ? ` (${detail})` : ""}`);
    this.name = "ImageNotFoundError";
  }
}

export class RequestIdReusedError extends Error {
  /** "other-digest-key": the earlier Run's digest was made under another key, so the requests cannot be compared. */
  constructor(
    readonly requestId: string,
    reason: "different-request" | "other-digest-key" = "different-request",
  ) {
    super(
      reason === "different-request"
        ? `request_id ${JSON.stringify(requestId)} was already used for a different request; use a new request_id`
        : `request_id ${JSON.stringify(requestId)} was already used by a Run that an Osiris with another OSIRIS_REQUEST_DIGEST_KEY_FILE made (another replica, or this server before a restart), so Osiris cannot tell whether this is the same request; use a new request_id, and give every replica the same key`,
    );
    this.name = "RequestIdReusedError";
  }
}

/**
 * A request the operator's settings forbid; `rule` is the setting (or built-in
 * rule) that forbids it: the run policy, the bind-mount checks, OSIRIS_SCOPE.
 */
export class PolicyViolationError extends Error {
  constructor(
    readonly rule: string,
    problem: string,
  ) {
    super(`Refused by policy ${rule}: ${problem}`);
    this.name = "PolicyViolationError";
  }
}

/** OSIRIS_MAX_MANAGED_CONTAINERS is reached: a quota on the engine's state, not a fault of the request. */
export class ContainerCapReachedError extends Error {
  constructor(
    readonly managed: number,
    readonly cap: number,
  ) {
    super(
      `Managed container cap reached (OSIRIS_MAX_MANAGED_CONTAINERS=${cap}): ${managed} managed containers exist; remove containers that are no longer needed, then run again`,
    );
    this.name = "ContainerCapReachedError";
  }
}

/** A named volume Osiris may not mount: it did not create it, or it reaches beyond the engine's own storage. */
export class VolumeNotOwnedError extends Error {
  constructor(
    readonly volume: string,
    readonly field: string,
    problem: string,
  ) {
    super(
      `${field}: volume ${JSON.stringify(volume)} ${problem}; Osiris mounts only volumes it created, so choose a new name and Run creates it`,
    );
    this.name = "VolumeNotOwnedError";
  }
}

export class ContainerNameConflictError extends Error {
  constructor(readonly containerName: string) {
    super(`Container name already in use: ${JSON.stringify(containerName)}`);
    this.name = "ContainerNameConflictError";
  }
}

export class HostPortAllocatedError extends Error {
  constructor(readonly port: string) {
    super(`Host port already allocated: ${port}`);
    this.name = "HostPortAllocatedError";
  }
}

/** The engine created the container but could not start it (missing executable, bad mount...). */
export class ContainerStartError extends Error {
  constructor(engineMessage: string) {
    super(`Container failed to start: ${engineMessage}`);
    this.name = "ContainerStartError";
  }
}

export class EngineUnavailableError extends Error {
  constructor(
    readonly endpoint: string,
    readonly causeMessage: string,
  ) {
    super(`Docker engine unreachable at ${endpoint}: ${causeMessage}`);
    this.name = "EngineUnavailableError";
  }
}

export class RegistryUnavailableError extends Error {
  constructor(
    readonly image: string,
    engineMessage: string,
  ) {
    super(`Registry unreachable while pulling ${JSON.stringify(image)}: ${engineMessage}`);
    this.name = "RegistryUnavailableError";
  }
}

export class RegistryAuthError extends Error {
  constructor(
    readonly image: string,
    readonly refusal: "unauthenticated" | "denied",
    engineMessage: string,
  ) {
    super(
      refusal === "unauthenticated"
        ? `Registry requires valid credentials to pull ${JSON.stringify(image)}: ${engineMessage}`
        : `Registry denied pulling ${JSON.stringify(image)}: ${engineMessage}`,
    );
    this.name = "RegistryAuthError";
  }
}

/** The engine rejected a setting as invalid (for example more CPUs than the host has). */
export class EngineRejectedRequestError extends Error {
  constructor(engineMessage: string) {
    super(engineMessage);
    this.name = "EngineRejectedRequestError";
  }
}

/** An engine failure with no better classification; carries the engine's message only. */
export class EngineFailureError extends Error {
  constructor(
    readonly operation: string,
    engineMessage: string,
  ) {
    super(`Docker engine failed to ${operation}: ${engineMessage}`);
    this.name = "EngineFailureError";
  }
}
