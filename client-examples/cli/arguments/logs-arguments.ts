import type { MessageInitShape } from "@bufbuild/protobuf";
import type { StreamDockerContainerLogsRequestSchema } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { parseCount } from "./quantities.js";
import { parseTimeFlag } from "./times.js";

export type LogsRequestInit = MessageInitShape<typeof StreamDockerContainerLogsRequestSchema>;

export interface LogsFlags {
  follow?: boolean;
  tail?: string;
  since?: string;
  until?: string;
  timestamps?: boolean;
}

/** `osiris logs [-f] [-n|--tail N|all] [--since T] [--until T] [-t] CONTAINER`. */
export function logsRequest(container: string, flags: LogsFlags, now: Date): LogsRequestInit {
  const request: LogsRequestInit = {
    container,
    follow: Boolean(flags.follow),
    timestamps: Boolean(flags.timestamps),
  };
  if (flags.tail !== undefined && flags.tail !== "all") request.tailLines = parseCount(flags.tail, "-n, --tail");
  if (flags.since !== undefined) request.since = parseTimeFlag(flags.since, "--since", now);
  if (flags.until !== undefined) request.until = parseTimeFlag(flags.until, "--until", now);
  return request;
}
