// Every failure a client can see gets its status code here, and only here.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  ContainerAlreadyRunningError,
  ContainerAlreadyStoppedError,
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
  WatcherTooSlowError,
} from "../containers/errors.js";
import { PolicyViolationError } from "../containers/run-policy.js";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { InvalidRequestError } from "./request-validation.js";

export interface ErrorLog {
  error(fields: object, message: string): void;
}

export function toConnectError(error: unknown, log: ErrorLog): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof InvalidRequestError) {
    return new ConnectError(error.message, Code.InvalidArgument, undefined, [
      {
        desc: BadRequestSchema,
        value: create(BadRequestSchema, { fieldViolations: error.violations }),
      },
    ]);
  }
  if ((error as { code?: unknown } | undefined)?.code === "ERR_STREAM_PREMATURE_CLOSE") {
    // The client closed its request stream mid-call: it left, nothing failed here.
    return new ConnectError("The client closed the stream", Code.Canceled);
  }
  const code = codeFor(error);
  if (code !== undefined) return new ConnectError((error as Error).message, code);
  // Unexpected: the client gets no internals, the log gets everything.
  log.error({ err: error }, "unexpected error in RPC handler");
  return new ConnectError("Internal error; the server log has details", Code.Internal);
}

function codeFor(error: unknown): Code | undefined {
  if (error instanceof ContainerNotFoundError || error instanceof ImageNotFoundError) return Code.NotFound;
  if (error instanceof ContainerNameConflictError) return Code.AlreadyExists;
  if (
    error instanceof ContainerAlreadyStoppedError ||
    error instanceof ContainerAlreadyRunningError ||
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
  if (error instanceof WatcherTooSlowError) return Code.ResourceExhausted;
  if (error instanceof EngineRejectedRequestError) return Code.InvalidArgument;
  if (error instanceof PolicyViolationError) return Code.PermissionDenied;
  if (error instanceof EngineFailureError) return Code.Internal;
  return undefined;
}
