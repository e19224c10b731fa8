import type { RestartDockerContainerRequest } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { checkedContainerReference } from "./container-reference.js";
import { maxStopTimeoutSeconds } from "./stop-request.js";
import { Violations } from "./violations.js";

export interface RestartArguments {
  container: string;
  /** Grace period of the stop half before SIGKILL; undefined for the container's own StopTimeout. */
  timeoutSeconds: number | undefined;
}

export function restartArgumentsFromRequest(request: Pick<RestartDockerContainerRequest, "container" | "timeoutSeconds">): RestartArguments {
  const violations = new Violations();
  const container = checkedContainerReference(request.container, violations);
  // The stop half of a restart has Stop's bound.
  if (request.timeoutSeconds !== undefined && request.timeoutSeconds > maxStopTimeoutSeconds) {
    violations.add("timeout_seconds", `must be at most ${maxStopTimeoutSeconds} seconds`);
  }
  violations.throwIfAny();
  return { container, timeoutSeconds: request.timeoutSeconds };
}
