// The facts the container service can report. The RPC layer turns each into a
// status code in one place (server/rpc/errors.ts); nothing here knows of codes.

export class ContainerNotFoundError extends Error {
  constructor(readonly container: string) {
    super(`Container not found: ${JSON.stringify(container)}`);
    this.name = "ContainerNotFoundError";
  }
}

export class ContainerAlreadyStoppedError extends Error {
  constructor(readonly container: string) {
    super(`Container already stopped: ${JSON.stringify(container)}`);
    this.name = "ContainerAlreadyStoppedError";
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
  constructor(backlog: number) {
    super(`Watcher fell more than ${backlog} events behind and was dropped; read faster or narrow the filters, then watch again`);
    this.name = "WatcherTooSlowError";
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
  constructor(readonly requestId: string) {
    super(`request_id ${JSON.stringify(requestId)} was already used for a different request; use a new request_id`);
    this.name = "RequestIdReusedError";
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
