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
  ContainerRemovalConflictError,
  ContainerStartError,
  EngineFailureError,
  EngineRejectedRequestError,
  EngineUnavailableError,
  HostPortAllocatedError,
  ImageNotFoundError,
  RegistryAuthError,
  RegistryUnavailableError,
  RequestIdReusedError,
  VolumeNotOwnedError,
  WatcherTooSlowError,
} from "../containers/errors.js";
import { PolicyViolationError } from "../containers/run-policy.js";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { classifyDecodeFailure } from "./decode-errors.js";
import { InvalidRequestError, type FieldViolation } from "./request-validation.js";

export interface ErrorLog {
  error(fields: object, message: string): void;
}

export function toConnectError(error: unknown, log: ErrorLog): ConnectError {
  if (error instanceof ConnectError) {
    // A body connect-es could not decode reaches here only on streaming calls; see decode-errors.ts.
    classifyDecodeFailure(error);
    return error;
  }
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
    return new ConnectError("The client canceled the call or closed its connection", Code.Canceled);
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
  if (error instanceof WatcherTooSlowError || error instanceof ContainerCapReachedError) return Code.ResourceExhausted;
  if (error instanceof EngineRejectedRequestError) return Code.InvalidArgument;
  if (error instanceof PolicyViolationError) return Code.PermissionDenied;
  // Ownership, like policy, is Osiris refusing; no state the caller can change through this API.
  if (error instanceof VolumeNotOwnedError) return Code.PermissionDenied;
  if (error instanceof EngineFailureError) return Code.Internal;
  return undefined;
}
