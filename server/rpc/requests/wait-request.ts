import type { WaitCondition } from "../../containers/containers.js";
import type { WaitDockerContainerRequest } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { waitConditions } from "../enums.js";
import { checkedContainerReference } from "./container-reference.js";
import { Violations } from "./violations.js";

export interface WaitArguments {
  container: string;
  condition: WaitCondition;
}

export function waitArgumentsFromRequest(request: Pick<WaitDockerContainerRequest, "container" | "condition">): WaitArguments {
  const violations = new Violations();
  const container = checkedContainerReference(request.container, violations);
  const condition = waitConditions.toDomain(request.condition);
  if (condition === undefined) violations.add("condition", `unknown value ${request.condition}`);
  violations.throwIfAny();
  return { container, condition: condition! };
}
