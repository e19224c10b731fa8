import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { ContainerStateName } from "../containers/container-info.js";
import type { ContainerEventType } from "../containers/container-events.js";
import type { WaitCondition as DomainWaitCondition } from "../containers/container-lifecycle.js";
import type { ListQuery } from "../containers/container-listing.js";
import type { LogQuery } from "../containers/container-logs.js";
import type { EventFilter } from "../containers/event-hub.js";
import { containerReferenceProblem, normaliseContainerReference } from "../containers/container-name.js";
import { selectorSizeProblem } from "../containers/label-selector.js";
import { parseImageReference, type ImageReference } from "../containers/image-reference.js";
import { isClientVisibleLabel, managedLabel, reservedLabelPrefix } from "../containers/labels.js";
import {
  ContainerState,
  EventType,
  WaitCondition,
  type ListDockerContainersRequest,
  type StreamDockerContainerLogsRequest,
  type WatchDockerEventsRequest,
} from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { decodePageToken } from "./page-token.js";
import { Violations } from "./request-validation.js";

const defaultPageSize = 100;
const maxPageSize = 1000;
const maxRestartTimeoutSeconds = 3600;

const states: Record<number, ContainerStateName> = {
  [ContainerState.CREATED]: "created",
  [ContainerState.RUNNING]: "running",
  [ContainerState.PAUSED]: "paused",
  [ContainerState.RESTARTING]: "restarting",
  [ContainerState.REMOVING]: "removing",
  [ContainerState.EXITED]: "exited",
  [ContainerState.DEAD]: "dead",
};

const waitConditions: Record<number, DomainWaitCondition> = {
  [WaitCondition.UNSPECIFIED]: "not-running",
  [WaitCondition.NOT_RUNNING]: "not-running",
  [WaitCondition.NEXT_EXIT]: "next-exit",
  [WaitCondition.REMOVED]: "removed",
};

export const eventTypes: Record<number, ContainerEventType> = {
  [EventType.CREATED]: "created",
  [EventType.STARTED]: "started",
  [EventType.DIED]: "died",
  [EventType.STOPPED]: "stopped",
  [EventType.KILLED]: "killed",
  [EventType.OOM]: "oom",
  [EventType.REMOVED]: "removed",
  [EventType.HEALTH_STATUS]: "health_status",
  [EventType.PAUSED]: "paused",
  [EventType.UNPAUSED]: "unpaused",
  [EventType.RESTARTED]: "restarted",
};

/** The `container` field of Get, Start and Remove, normalised. */
export function containerReference(request: { container: string }): string {
  const violations = new Violations();
  const container = checkedContainer(request.container, violations);
  violations.throwIfAny();
  return container;
}

export function restartRequest(request: { container: string; timeoutSeconds?: number }): {
  container: string;
  timeoutSeconds: number | undefined;
} {
  const violations = new Violations();
  const container = checkedContainer(request.container, violations);
  if (request.timeoutSeconds !== undefined && request.timeoutSeconds > maxRestartTimeoutSeconds) {
    violations.add("timeout_seconds", `must be at most ${maxRestartTimeoutSeconds} seconds`);
  }
  violations.throwIfAny();
  return { container, timeoutSeconds: request.timeoutSeconds };
}

export function waitRequest(request: { container: string; condition: WaitCondition }): {
  container: string;
  condition: DomainWaitCondition;
} {
  const violations = new Violations();
  const container = checkedContainer(request.container, violations);
  const condition = waitConditions[request.condition];
  if (condition === undefined) violations.add("condition", `unknown value ${request.condition}`);
  violations.throwIfAny();
  return { container, condition: condition! };
}

export function listQueryFromRequest(request: ListDockerContainersRequest): ListQuery {
  const violations = new Violations();
  const wanted: ContainerStateName[] = [];
  request.states.forEach((state, index) => {
    const name = states[state];
    if (name === undefined) violations.add(`states[${index}]`, `unknown or unspecified state ${state}`);
    else wanted.push(name);
  });
  checkSelector("label_selector", request.labelSelector, violations);
  if (request.pageSize > maxPageSize) violations.add("page_size", `must be at most ${maxPageSize}`);
  const query: ListQuery = {
    all: request.all,
    labelSelector: { ...request.labelSelector },
    namePrefix: request.namePrefix.replace(/^\//, ""),
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

export function logQueryFromRequest(request: StreamDockerContainerLogsRequest): LogQuery {
  const violations = new Violations();
  const container = checkedContainer(request.container, violations);
  const since = request.since ? engineTime(request.since) : undefined;
  const until = request.until ? engineTime(request.until) : undefined;
  if (request.until && request.follow) violations.add("until", "cannot be combined with follow");
  if (request.since && request.until && compare(request.until, request.since) < 0) {
    violations.add("until", "must not be before since");
  }
  for (const field of ["since", "until"] as const) {
    const value = request[field];
    if (value && (value.seconds < 0n || value.nanos < 0 || value.nanos > 999_999_999)) {
      violations.add(field, "must be a valid time after 1970");
    }
  }
  violations.throwIfAny();
  const both = !request.stdout && !request.stderr;
  return {
    container,
    follow: request.follow,
    tailLines: request.tailLines,
    since,
    until,
    timestamps: request.timestamps,
    stdout: both || request.stdout,
    stderr: both || request.stderr,
  };
}

export function eventFilterFromRequest(request: WatchDockerEventsRequest): EventFilter {
  const violations = new Violations();
  const container = request.container === "" ? "" : checkedContainer(request.container, violations);
  checkSelector("label_selector", request.labelSelector, violations);
  const types: ContainerEventType[] = [];
  request.types.forEach((type, index) => {
    const name = eventTypes[type];
    if (name === undefined) violations.add(`types[${index}]`, `unknown or unspecified event type ${type}`);
    else types.push(name);
  });
  violations.throwIfAny();
  return { labelSelector: { ...request.labelSelector }, container, types };
}

/** Images that can be pulled: any reference except a bare image id. */
export function pullImageReference(request: { image: string }): ImageReference {
  const violations = new Violations();
  const parsed = parseImageReference(request.image);
  if (!parsed.ok) violations.add("image", parsed.reason);
  else if (parsed.reference.isImageId) violations.add("image", "an image id cannot be pulled; name a repository");
  violations.throwIfAny();
  return (parsed as { reference: ImageReference }).reference;
}

/**
 * Normalised here, once, so every layer below sees the same reference: a
 * name the engine reported as "/web" is "web" from here on.
 */
function checkedContainer(raw: string, violations: Violations): string {
  const container = normaliseContainerReference(raw);
  const problem = containerReferenceProblem(container);
  if (problem) violations.add("container", problem);
  return container;
}

function checkSelector(field: string, selector: Record<string, string>, violations: Violations): void {
  const sizeProblem = selectorSizeProblem(selector);
  if (sizeProblem) {
    // Checking each key of an oversized selector would only make the answer as large as the request.
    violations.add(field, sizeProblem);
    return;
  }
  for (const [key, value] of Object.entries(selector)) {
    if (key === "" || key.includes("=") || key.includes("\0") || value.includes("\0")) {
      violations.add(`${field}[${JSON.stringify(key)}]`, "keys must be non-empty, without '=' or NUL");
    } else if (!isClientVisibleLabel(key)) {
      // Refused rather than ignored: selecting by a hidden label would tell its value.
      violations.add(`${field}[${JSON.stringify(key)}]`, `labels starting with "${reservedLabelPrefix}" are internal to Osiris; only ${managedLabel} can be selected`);
    }
  }
}

function engineTime(time: Timestamp): string {
  return `${time.seconds}.${String(time.nanos).padStart(9, "0")}`;
}

function compare(a: Timestamp, b: Timestamp): number {
  return a.seconds !== b.seconds ? (a.seconds < b.seconds ? -1 : 1) : a.nanos - b.nanos;
}
