import type { EventFilter } from "../../containers/events/event-hub.js";
import { EventTypeSchema, type WatchDockerEventsRequest } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { eventTypes } from "../enums.js";
import { checkedContainerReference } from "./container-reference.js";
import { distinctEnumValues } from "./enum-list.js";
import { checkLabelSelector } from "./label-selector.js";
import { Violations } from "./violations.js";

export function eventFilterFromRequest(request: WatchDockerEventsRequest): EventFilter {
  const violations = new Violations();
  // Empty: events of every container in scope.
  const container = request.container === "" ? "" : checkedContainerReference(request.container, violations);
  checkLabelSelector("label_selector", request.labelSelector, violations);
  const types = distinctEnumValues("types", request.types, EventTypeSchema, eventTypes.toDomain, "unknown or unspecified event type", violations);
  violations.throwIfAny();
  return { labelSelector: { ...request.labelSelector }, container, types };
}
