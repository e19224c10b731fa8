import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { LogQuery } from "../../containers/containers.js";
import type { StreamDockerContainerLogsRequest } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { checkedContainerReference } from "./container-reference.js";
import { Violations } from "./violations.js";

export function logQueryFromRequest(request: StreamDockerContainerLogsRequest): LogQuery {
  const violations = new Violations();
  const container = checkedContainerReference(request.container, violations);
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

function engineTime(time: Timestamp): string {
  return `${time.seconds}.${String(time.nanos).padStart(9, "0")}`;
}

function compare(a: Timestamp, b: Timestamp): number {
  return a.seconds !== b.seconds ? (a.seconds < b.seconds ? -1 : 1) : a.nanos - b.nanos;
}
