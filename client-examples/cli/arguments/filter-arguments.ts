import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  ContainerState,
  EventType,
  type ListDockerContainersRequestSchema,
  type WatchDockerEventsRequestSchema,
} from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { badFlag } from "./flag-error.js";
import { addLabel } from "./key-values.js";

export type ListRequestInit = MessageInitShape<typeof ListDockerContainersRequestSchema>;
export type EventsRequestInit = MessageInitShape<typeof WatchDockerEventsRequestSchema>;

/** docker's lower-case state names, as `ps --filter status=` and `{{.State}}` use them. */
export const stateNames = {
  [ContainerState.UNSPECIFIED]: "unknown",
  [ContainerState.CREATED]: "created",
  [ContainerState.RUNNING]: "running",
  [ContainerState.PAUSED]: "paused",
  [ContainerState.RESTARTING]: "restarting",
  [ContainerState.REMOVING]: "removing",
  [ContainerState.EXITED]: "exited",
  [ContainerState.DEAD]: "dead",
} as const satisfies Record<ContainerState, string>;

/** docker's event action names, as `events` prints them and `--filter event=` reads them. */
export const eventActions = {
  [EventType.UNSPECIFIED]: "unknown",
  [EventType.CREATED]: "create",
  [EventType.STARTED]: "start",
  [EventType.DIED]: "die",
  [EventType.STOPPED]: "stop",
  [EventType.KILLED]: "kill",
  [EventType.OOM]: "oom",
  [EventType.REMOVED]: "destroy",
  [EventType.HEALTH_STATUS]: "health_status",
  [EventType.PAUSED]: "pause",
  [EventType.UNPAUSED]: "unpause",
  [EventType.RESTARTED]: "restart",
} as const satisfies Record<EventType, string>;

function lookup<T extends number>(names: Record<T, string>, name: string): T | undefined {
  const entry = Object.entries(names).find(([value, text]) => text === name && Number(value) !== 0);
  return entry === undefined ? undefined : (Number(entry[0]) as T);
}

/** Splits `key=value` of `--filter`, naming the flag when there is no `=`. */
function splitFilter(spec: string): [string, string] {
  const equals = spec.indexOf("=");
  if (equals <= 0) throw badFlag("-f, --filter", spec, "expected key=value, for example label=app=web or status=exited");
  return [spec.slice(0, equals), spec.slice(equals + 1)];
}

/**
 * `ps --filter`: `label=KEY` or `label=KEY=VALUE` (all must match),
 * `status=STATE` (any may match), `name=PREFIX` (Osiris matches a name
 * prefix, where docker matches a substring).
 */
export function listRequest(flags: { all?: boolean; filter?: string[] }): ListRequestInit {
  const request: ListRequestInit = { all: Boolean(flags.all), labelSelector: {}, states: [], namePrefix: "" };
  for (const spec of flags.filter ?? []) {
    const [key, value] = splitFilter(spec);
    if (key === "label") addLabel(value, request.labelSelector as Record<string, string>, "-f, --filter");
    else if (key === "status") {
      const state = lookup(stateNames, value);
      if (state === undefined) throw badFlag("-f, --filter", spec, `unknown status; use one of ${Object.values(stateNames).slice(1).join(", ")}`);
      request.states!.push(state);
    } else if (key === "name") {
      if (request.namePrefix !== "") throw badFlag("-f, --filter", spec, "only one name filter is supported");
      request.namePrefix = value.replace(/^\//, "");
    } else throw badFlag("-f, --filter", spec, `unknown filter "${key}"; use label, status or name`);
  }
  return request;
}

/** `events --filter`: `label=KEY[=VALUE]`, `container=NAME|ID`, `event=start` (repeatable), `type=container`. */
export function eventsRequest(flags: { filter?: string[] }): EventsRequestInit {
  const request: EventsRequestInit = { labelSelector: {}, container: "", types: [] };
  for (const spec of flags.filter ?? []) {
    const [key, value] = splitFilter(spec);
    if (key === "label") addLabel(value, request.labelSelector as Record<string, string>, "-f, --filter");
    else if (key === "container") {
      if (request.container !== "") throw badFlag("-f, --filter", spec, "only one container filter is supported");
      request.container = value;
    } else if (key === "event") {
      const type = lookup(eventActions, value);
      if (type === undefined) throw badFlag("-f, --filter", spec, `unknown event; use one of ${Object.values(eventActions).slice(1).join(", ")}`);
      request.types!.push(type);
    } else if (key === "type") {
      // Osiris reports container events only.
      if (value !== "container") throw badFlag("-f, --filter", spec, "Osiris reports container events only");
    } else throw badFlag("-f, --filter", spec, `unknown filter "${key}"; use label, container, event or type`);
  }
  return request;
}
