// Every failure a client can see gets its status code here, and only here.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  AmbiguousContainerReferenceError,
  ContainerAlreadyRunningError,
  ContainerCapReachedError,
  ContainerAlreadyStoppedError,
  UnsafeMountsError,
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
  PolicyViolationError,
  RegistryAuthError,
  RegistryUnavailableError,
  RequestIdReusedError,
  VolumeNotOwnedError,
  WatcherTooSlowError,
  LogFollowerTooSlowError,
} from "../containers/errors.js";
import { RefusalError, type RefusalKind } from "../refusals.js";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { InvalidRequestError, type FieldViolation } from "./requests/violations.js";

export interface ErrorLog {
  error(fields: object, message: string): void;
}

/** Every refusal's code; a new kind without one does not compile. */
const refusalCodes = {
  "credentials-missing": Code.Unauthenticated,
  "credentials-invalid": Code.Unauthenticated,
  "role-insufficient": Code.PermissionDenied,
  "rate-limited": Code.ResourceExhausted,
  "too-many-streams": Code.ResourceExhausted,
  "too-many-calls-in-flight": Code.ResourceExhausted,
  // As connect-es answers a body over readMaxBytes.
  "request-too-large": Code.ResourceExhausted,
  // PERMISSION_DENIED (HTTP 403), not 421 Misdirected Request for a host: the
  // caller is refused for where it sent the request, or from where, and
  // sending it again unchanged will never succeed, which is what
  // PERMISSION_DENIED tells a client; Connect has no code for 421 and would report UNKNOWN.
  "origin-not-allowed": Code.PermissionDenied,
  "host-not-allowed": Code.PermissionDenied,
  // RFC 9112 section 3.2: an HTTP/1.1 request without Host is answered 400.
  "host-missing": Code.InvalidArgument,
  "unknown-service": Code.NotFound,
  "shutting-down": Code.Unavailable,
} satisfies Record<RefusalKind, Code>;

/**
 * A refusal as the client sees it. For the layers that answer outside the
 * error-mapping interceptor: the security interceptors (which run before it),
 * the HTTP hooks, and the shutdown signals connect-es aborts calls with.
 */
export function refusal(kind: RefusalKind, message: string): ConnectError {
  return refused(new RefusalError(kind, message));
}

function refused(error: RefusalError): ConnectError {
  return new ConnectError(error.message, refusalCodes[error.kind], undefined, undefined, error);
}

/** A call the client ended (closed the stream, reset the connection, canceled): nothing failed here. */
export function clientCanceledError(): ConnectError {
  return new ConnectError("The client canceled the call or closed its connection", Code.Canceled);
}

/**
 * A request connect-es cannot decode (a body, or a GET's query): the client's
 * fault, on every protocol. decode-errors.ts finds such requests.
 */
export function undecodableRequest(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

export function toConnectError(error: unknown, log: ErrorLog): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof RefusalError) return refused(error);
  if (error instanceof InvalidRequestError) return invalidArgument(error.message, error.violations);
  if (error instanceof AmbiguousContainerReferenceError) {
    return invalidArgument(error.message, [{ field: "container", description: "matches more than one container; give more characters of the id, or the name" }]);
  }
  if (clientLeftMidRequest(error)) {
    // The client closed its request stream mid-call: it left, nothing failed here.
    return new ConnectError("The client closed the stream", Code.Canceled);
  }
  if (error instanceof Error && error.name === "AbortError") {
    // The call's signal fired without a reason of its own: over HTTP/1.1 that is
    // the client closing its connection (HTTP/2 says CANCEL). Not a failure here.
    return clientCanceledError();
  }
  const code = codeFor(error);
  if (code !== undefined) return new ConnectError((error as Error).message, code);
  // Unexpected: the client gets no internals, the log gets everything.
  log.error({ err: error }, "unexpected error in RPC handler");
  return new ConnectError("Internal error; the server log has details", Code.Internal);
}

function invalidArgument(message: string, violations: FieldViolation[]): ConnectError {
  return new ConnectError(message, Code.InvalidArgument, undefined, [
    { desc: BadRequestSchema, value: create(BadRequestSchema, { fieldViolations: violations }) },
  ]);
}

/**
 * Node's errors for a request body the client stopped sending: the stream
 * closed early, or (HTTP/1.1) the connection was reset mid-body, which Node
 * reports on the request as Error("aborted") with code ECONNRESET.
 */
function clientLeftMidRequest(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === "ERR_STREAM_PREMATURE_CLOSE" || (code === "ECONNRESET" && message === "aborted");
}

function codeFor(error: unknown): Code | undefined {
  if (error instanceof ContainerNotFoundError || error instanceof ImageNotFoundError) return Code.NotFound;
  if (error instanceof ContainerNameConflictError) return Code.AlreadyExists;
  if (
    error instanceof ContainerAlreadyStoppedError ||
    error instanceof ContainerAlreadyRunningError ||
    error instanceof UnsafeMountsError ||
    error instanceof ContainerRemovalConflictError ||
    error instanceof ContainerNotRunningError ||
    error instanceof ImageInUseError ||
    error instanceof RequestIdReusedError ||
    error instanceof HostPortAllocatedError ||
    error instanceof ContainerStartError
  ) {
    return Code.FailedPrecondition;
  }
  if (error instanceof EngineUnavailableError || error instanceof RegistryUnavailableError) return Code.Unavailable;
  if (error instanceof RegistryAuthError) {
    return error.refusal === "unauthenticated" ? Code.Unauthenticated : Code.PermissionDenied;
  }
  if (error instanceof WatcherTooSlowError || error instanceof LogFollowerTooSlowError || error instanceof ContainerCapReachedError) {
    return Code.ResourceExhausted;
  }
  if (error instanceof EngineRejectedRequestError) return Code.InvalidArgument;
  if (error instanceof PolicyViolationError) return Code.PermissionDenied;
  // Ownership, like policy, is Osiris refusing; no state the caller can change through this API.
  if (error instanceof VolumeNotOwnedError) return Code.PermissionDenied;
  if (error instanceof EngineFailureError) return Code.Internal;
  return undefined;
}
