import { normaliseSignal } from "../../containers/grammar/signals.js";
import type { StopSpec } from "../../containers/run-spec.js";
import type { StopDockerContainerRequest } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { checkedContainerReference } from "./container-reference.js";
import { Violations } from "./violations.js";

export const maxStopTimeoutSeconds = 3600;

export function stopSpecFromRequest(request: StopDockerContainerRequest): StopSpec {
  const violations = new Violations();
  const container = checkedContainerReference(request.container, violations);
  if (request.timeoutSeconds !== undefined && request.timeoutSeconds > maxStopTimeoutSeconds) {
    violations.add("timeout_seconds", `must be at most ${maxStopTimeoutSeconds} seconds`);
  }
  let signal: string | undefined;
  if (request.signal !== "") {
    signal = normaliseSignal(request.signal);
    if (signal === undefined) violations.add("signal", `unknown signal ${JSON.stringify(request.signal)}`);
  }
  violations.throwIfAny();
  return {
    container,
    timeoutSeconds: request.timeoutSeconds,
    signal,
    ignoreAlreadyStopped: request.ignoreAlreadyStopped,
  };
}
