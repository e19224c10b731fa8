import type { ListQuery } from "../../containers/containers.js";
import { normaliseContainerReference } from "../../containers/grammar/container-name.js";
import { ContainerStateSchema, type ListDockerContainersRequest } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { containerStates } from "../enums.js";
import { decodePageToken } from "../page-token.js";
import { distinctEnumValues } from "./enum-list.js";
import { checkLabelSelector } from "./label-selector.js";
import { Violations } from "./violations.js";

const defaultPageSize = 100;
const maxPageSize = 1000;

export function listQueryFromRequest(request: ListDockerContainersRequest): ListQuery {
  const violations = new Violations();
  const wanted = distinctEnumValues(
    "states",
    request.states,
    ContainerStateSchema,
    // "unknown" is what Osiris reports, not a state a filter can ask the engine for.
    (state) => {
      const name = containerStates.toDomain(state);
      return name === "unknown" ? undefined : name;
    },
    "unknown or unspecified state",
    violations,
  );
  checkLabelSelector("label_selector", request.labelSelector, violations);
  if (request.pageSize > maxPageSize) violations.add("page_size", `must be at most ${maxPageSize}`);
  const query: ListQuery = {
    all: request.all,
    labelSelector: { ...request.labelSelector },
    // Names as the engine reports them ("/web") match too.
    namePrefix: normaliseContainerReference(request.namePrefix),
    states: wanted,
    managedOnly: request.managedOnly ?? true,
    pageSize: request.pageSize === 0 ? defaultPageSize : request.pageSize,
  };
  if (request.pageToken !== "") {
    const decoded = decodePageToken(request.pageToken, query);
    if ("problem" in decoded) violations.add("page_token", decoded.problem);
    else query.after = decoded.cursor;
  }
  violations.throwIfAny();
  return query;
}
