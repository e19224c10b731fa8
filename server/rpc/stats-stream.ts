// StreamDockerContainerStats: the request mapped to the domain, each update to its message.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Containers, StatsFigures, StatsQuery, StatsUpdate } from "../containers/containers.js";
import { AmbiguousContainerReferenceError } from "../containers/errors.js";
import { normaliseContainerReference } from "../containers/grammar/container-name.js";
import {
  ContainerStatsSchema,
  StreamDockerContainerStatsResponseSchema,
  type ContainerStats,
  type StreamDockerContainerStatsRequest,
  type StreamDockerContainerStatsResponse,
} from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { timestampFromRfc3339 } from "./container-message.js";
import { statsLeaveReasons } from "./enums.js";
import { checkedContainerReference } from "./requests/container-reference.js";
import { InvalidRequestError, Violations } from "./requests/violations.js";

/** The most containers one call may name; a dashboard of more watches them all with an empty list. */
export const maxStatsContainers = 256;

export function statsQueryFromRequest(request: StreamDockerContainerStatsRequest): StatsQuery {
  const violations = new Violations();
  if (request.containers.length > maxStatsContainers) {
    // Checking each entry of an oversized list would only make the answer as large as the request.
    violations.add("containers", `has ${request.containers.length} entries; at most ${maxStatsContainers} (send none to watch every running container)`);
    violations.throwIfAny();
  }
  const containers = new Set<string>();
  request.containers.forEach((raw, index) => {
    const problems = new Violations();
    const reference = checkedContainerReference(raw, problems);
    for (const problem of problems.list) violations.add(`containers[${index}]`, problem.description);
    containers.add(reference);
  });
  violations.throwIfAny();
  return { containers: [...containers], oneShot: request.oneShot };
}

/** The stream's messages; an ambiguous id prefix is refused naming the entry that holds it, `containers[i]`. */
export async function* statsMessages(
  containers: Containers,
  request: StreamDockerContainerStatsRequest,
  signal: AbortSignal,
): AsyncGenerator<StreamDockerContainerStatsResponse> {
  const query = statsQueryFromRequest(request);
  try {
    for await (const update of containers.stats(query, signal)) yield statsMessage(update);
  } catch (error) {
    if (!(error instanceof AmbiguousContainerReferenceError)) throw error;
    const index = request.containers.findIndex((raw) => normaliseContainerReference(raw) === error.container);
    throw new InvalidRequestError([
      { field: `containers[${index}]`, description: "matches more than one container; give more characters of the id, or the name" },
    ]);
  }
}

export function statsMessage(update: StatsUpdate): StreamDockerContainerStatsResponse {
  return create(StreamDockerContainerStatsResponseSchema, {
    containerId: update.containerId,
    containerName: update.containerName,
    update:
      update.kind === "sample"
        ? { case: "stats", value: statsFiguresMessage(update.figures) }
        : { case: "left", value: { reason: statsLeaveReasons.toProto(update.reason) } },
  });
}

/** One sample goes to every watcher of its container: its message is made once and shared (messages are not mutated). */
const figureMessages = new WeakMap<StatsFigures, ContainerStats>();

function statsFiguresMessage(figures: StatsFigures): ContainerStats {
  let message = figureMessages.get(figures);
  if (!message) {
    message = create(ContainerStatsSchema, {
      time: timestampFromRfc3339(figures.readAt) ?? timestampFromDate(new Date()),
      cpuPercent: figures.cpuPercent,
      memoryUsageBytes: uint64(figures.memoryUsageBytes),
      memoryLimitBytes: uint64(figures.memoryLimitBytes),
      memoryPercent: figures.memoryPercent,
      networkRxBytes: uint64(figures.networkRxBytes),
      networkTxBytes: uint64(figures.networkTxBytes),
      blockReadBytes: uint64(figures.blockReadBytes),
      blockWriteBytes: uint64(figures.blockWriteBytes),
      pids: uint64(figures.pids),
      onlineCpus: figures.onlineCpus,
    });
    figureMessages.set(figures, message);
  }
  return message;
}

/** A count as uint64: the engine writes doubles, and none of these is negative. */
function uint64(value: number): bigint {
  return Number.isFinite(value) && value > 0 ? BigInt(Math.round(value)) : 0n;
}
