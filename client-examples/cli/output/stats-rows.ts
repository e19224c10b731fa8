import type { ContainerStats } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { binarySize, humanSize } from "./human-units.js";

/** A container's sample as `docker stats` shows it; the fields of its templates and `--format json`. */
export interface StatsRow {
  ID: string;
  Name: string;
  Container: string;
  CPUPerc: string;
  MemUsage: string;
  MemPerc: string;
  NetIO: string;
  BlockIO: string;
  PIDs: string;
}

export const defaultStatsTable = "{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

/** docker's column titles (formatter.statsContext). */
export const statsHeaders: Record<keyof StatsRow, string> = {
  ID: "CONTAINER ID",
  Name: "NAME",
  Container: "CONTAINER",
  CPUPerc: "CPU %",
  MemUsage: "MEM USAGE / LIMIT",
  MemPerc: "MEM %",
  NetIO: "NET I/O",
  BlockIO: "BLOCK I/O",
  PIDs: "PIDS",
};

/** Memory in binary units, network and disk in decimal ones, as docker prints them. */
export function statsRow(id: string, name: string, stats: ContainerStats, fullIds: boolean): StatsRow {
  return {
    ID: fullIds ? id : id.slice(0, 12),
    Name: name,
    Container: name || id.slice(0, 12),
    // The first sample of a stream has nothing to compare with; docker shows "--" until it has.
    CPUPerc: stats.cpuPercent === undefined ? "--" : `${stats.cpuPercent.toFixed(2)}%`,
    MemUsage: `${binarySize(Number(stats.memoryUsageBytes))} / ${binarySize(Number(stats.memoryLimitBytes))}`,
    MemPerc: `${stats.memoryPercent.toFixed(2)}%`,
    NetIO: `${humanSize(Number(stats.networkRxBytes))} / ${humanSize(Number(stats.networkTxBytes))}`,
    BlockIO: `${humanSize(Number(stats.blockReadBytes))} / ${humanSize(Number(stats.blockWriteBytes))}`,
    PIDs: String(stats.pids),
  };
}
