// Turns what the engine client throws into the container service's own errors.
// Branches on the HTTP status and the engine's message, never on dockerode's
// `reason`. The only place that reads an engine status code.
import {
  AmbiguousContainerReferenceError,
  ContainerNameConflictError,
  ContainerNotFoundError,
  ContainerNotRunningError,
  ContainerRemovalConflictError,
  ContainerStartError,
  EngineFailureError,
  EngineRejectedRequestError,
  EngineUnavailableError,
  HostPortAllocatedError,
  ImageInUseError,
  ImageNotFoundError,
  RegistryAuthError,
  RegistryUnavailableError,
} from "../errors.js";

/** The engine call that failed, with what its errors should name. */
export type EngineOperation =
  | { kind: "inspect-container" | "stop-container" | "kill-container" | "wait-container"; container: string }
  | { kind: "create-container"; name?: string; image: string }
  | { kind: "start-container"; container: string }
  | { kind: "restart-container" | "logs-container" | "stats-container"; container: string }
  | { kind: "list-containers" | "read-info" | "watch-events" }
  | { kind: "inspect-volume" | "create-volume"; volume: string }
  | { kind: "remove-container"; container: string }
  | { kind: "inspect-image" | "pull-image"; image: string }
  | { kind: "create-exec" | "start-exec" | "inspect-exec"; container: string }
  | { kind: "list-images" }
  | { kind: "remove-image"; image: string };

/** What a request the engine answered with a redirect fails with; see request-faults.ts. */
export const engineRedirectCode = "ENGINE_REDIRECT";

interface DockerodeError {
  statusCode?: number;
  json?: unknown;
  code?: string;
  message?: string;
  name?: string;
}

const connectionErrorCodes = new Set([
  "ECONNREFUSED",
  "ENOENT",
  "EACCES",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * An error as the engine's HTTP answer makes it, in the shape dockerode gives
 * it; for an EngineClient that is not dockerode (a fake in tests).
 */
export function engineHttpError(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) ${message}`), { statusCode, json: { message } });
}

/** 304: the engine had nothing to do (start of a running container, stop of a stopped one). */
export function isNotModified(error: unknown): boolean {
  return (error as DockerodeError | undefined)?.statusCode === 304;
}

/** 404: no such object. */
export function isNotFound(error: unknown): boolean {
  return (error as DockerodeError | undefined)?.statusCode === 404;
}

/** 409: the object's state forbids the request (kill of a container that is not running). */
export function isConflict(error: unknown): boolean {
  return (error as DockerodeError | undefined)?.statusCode === 409;
}

/** The engine's own words: `json.message` when present, else dockerode's text minus its prefix. */
export function engineMessage(error: unknown): string {
  const e = error as DockerodeError;
  const json = e?.json;
  if (json && typeof json === "object" && "message" in json && typeof json.message === "string") {
    return json.message;
  }
  if (typeof json === "string" && json.trim() !== "") return json.trim();
  const text = String(e?.message ?? error);
  const afterPrefix = /^\(HTTP code \d+\) [^-]*- (.*)$/s.exec(text);
  return (afterPrefix?.[1] ?? text).trim();
}

export function translateEngineError(error: unknown, operation: EngineOperation, endpoint: string): Error {
  const e = error as DockerodeError;
  if (e?.statusCode === undefined) {
    if (e?.code === engineRedirectCode) return new EngineFailureError(operation.kind.replace("-", " "), String(e.message));
    if (e?.code && connectionErrorCodes.has(e.code)) {
      return new EngineUnavailableError(endpoint, e.code);
    }
    if (/socket hang up|aborted|premature close/i.test(String(e?.message))) {
      return new EngineUnavailableError(endpoint, "connection closed by the engine");
    }
    return error instanceof Error ? error : new Error(String(error));
  }
  const status = e.statusCode;
  const message = engineMessage(error);
  // An engine on its way down answers, but only to say it cannot serve.
  if (status === 503 || /shutting down|daemon is not running/i.test(message)) {
    return new EngineUnavailableError(endpoint, message);
  }
  // A request head too large for the engine comes from a client's input (a
  // huge selector or name); validation bounds those, and this names the rest.
  if (status === 431) {
    return new EngineRejectedRequestError(`the request is too large for the Docker engine (HTTP 431 ${message}); send fewer or shorter values`);
  }
  // An id prefix that matches several containers; the engine answers 500 here, and newer engines may answer 400.
  if ("container" in operation && /multiple IDs found with provided prefix/i.test(message)) {
    return new AmbiguousContainerReferenceError(operation.container);
  }
  switch (operation.kind) {
    case "inspect-container":
    case "stop-container":
    case "kill-container":
    case "wait-container":
    case "logs-container":
    case "stats-container":
      if (status === 404) return new ContainerNotFoundError(operation.container);
      break;
    case "remove-container":
      if (status === 404) return new ContainerNotFoundError(operation.container);
      if (status === 409) return new ContainerRemovalConflictError(operation.container, message);
      break;
    case "restart-container":
      if (status === 404) return new ContainerNotFoundError(operation.container);
      return startFailure(message);
    case "create-container":
      if (status === 409) return new ContainerNameConflictError(operation.name ?? "");
      if (status === 404) return new ImageNotFoundError(operation.image);
      break;
    case "start-container":
      return startFailure(message);
    case "inspect-image":
      if (status === 404) return new ImageNotFoundError(operation.image);
      break;
    case "pull-image":
      return pullFailure(operation.image, status, message);
    // 409: "Container <id> is not running", "... is paused, unpause the container before exec", "... is restarting".
    // 404 after create: the container (and its exec instances) went away since.
    case "create-exec":
    case "start-exec":
    case "inspect-exec":
      if (status === 404) return new ContainerNotFoundError(operation.container);
      if (status === 409) return new ContainerNotRunningError(operation.container, message);
      break;
    case "remove-image":
      if (status === 404) return new ImageNotFoundError(operation.image);
      // "conflict: unable to remove repository reference ... (must force) - container <id> is using its referenced image <id>",
      // or "(cannot be forced) - image is being used by running container <id>".
      if (status === 409) return new ImageInUseError(operation.image, message);
      break;
  }
  if (status === 400) return new EngineRejectedRequestError(message);
  return new EngineFailureError(operation.kind.replace("-", " "), message);
}

function startFailure(message: string): Error {
  // "Bind for 0.0.0.0:8080 failed: port is already allocated" (another container), or
  // "listen tcp4 0.0.0.0:8080: bind: address already in use" (a host process).
  const allocated = /:(\d+)(?: failed: port is already allocated|: bind: address already in use)/.exec(message);
  if (allocated?.[1]) return new HostPortAllocatedError(allocated[1]);
  if (/port is already allocated|address already in use/i.test(message)) {
    return new HostPortAllocatedError(message);
  }
  // The engine answers 400 or 500 for a missing executable or a bad mount;
  // either way the request was well formed and the container cannot start.
  return new ContainerStartError(message);
}

/**
 * Classifies a pull failure by the engine's message. The same text arrives
 * either as the HTTP error (when the engine fails before streaming) or inside
 * a 200 progress stream, so both paths come here.
 */
export function pullFailure(image: string, status: number | undefined, message: string): Error {
  if (/unauthorized|authentication required|no basic auth credentials|incorrect username or password|invalid username\/password/i.test(message)) {
    return new RegistryAuthError(image, "unauthenticated", message);
  }
  if (/denied|forbidden/i.test(message)) {
    return new RegistryAuthError(image, "denied", message);
  }
  if (status === 404 || /manifest unknown|not found|does not exist|name unknown/i.test(message)) {
    return new ImageNotFoundError(image, message);
  }
  if (/connection refused|no such host|i\/o timeout|dial tcp|timeout|network is unreachable|TLS handshake|EOF|server gave HTTP response/i.test(message)) {
    return new RegistryUnavailableError(image, message);
  }
  if (status === 400) return new EngineRejectedRequestError(message);
  return new EngineFailureError("pull image", message);
}
