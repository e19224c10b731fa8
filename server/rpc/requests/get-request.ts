import type { ReadConsistency } from "../../containers/containers.js";
import type { GetDockerContainerRequest } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { readConsistencies } from "../enums.js";
import { checkedContainerReference } from "./container-reference.js";
import { Violations } from "./violations.js";

export interface GetQuery {
  container: string;
  consistency: ReadConsistency;
}

export function getQueryFromRequest(request: GetDockerContainerRequest): GetQuery {
  const violations = new Violations();
  const container = checkedContainerReference(request.container, violations);
  const consistency = readConsistencies.toDomain(request.consistency);
  if (consistency === undefined) violations.add("consistency", `unknown value ${request.consistency}`);
  violations.throwIfAny();
  return { container, consistency: consistency! };
}
