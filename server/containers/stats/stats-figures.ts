// The figures `docker stats` shows, computed from the engine's raw counters
// exactly as the docker CLI computes them (cli/command/container/stats_helpers.go).
import type { EngineContainerStats, EngineCpuStats } from "../engine/engine-client.js";

/** The CPU counters of one sample, which CPU % compares between two samples. */
export interface CpuCounters {
  /** CPU time the container used, in nanoseconds. */
  containerNanos: number;
  /** CPU time the host used, summed over its CPUs, in nanoseconds. */
  systemNanos: number;
  onlineCpus: number;
}

/** One sample of a container's resource use. */
export interface StatsFigures {
  /** When the engine read the counters, RFC 3339 with nanoseconds. */
  readAt: string;
  /** Percent of one CPU over the time since the previous sample; undefined when there is none to compare with. */
  cpuPercent?: number;
  /** Usage minus the reclaimable page cache, in bytes. */
  memoryUsageBytes: number;
  memoryLimitBytes: number;
  memoryPercent: number;
  networkRxBytes: number;
  networkTxBytes: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  pids: number;
  onlineCpus: number;
}

/** The time the engine writes for a sample of a container that is not running. */
const zeroTime = "0001-01-01T00:00:00Z";

/** False for the empty samples the engine sends for a container that is not running (stopped, or not yet started). */
export function isRunningSample(sample: EngineContainerStats): boolean {
  return typeof sample.read === "string" && sample.read !== "" && sample.read !== zeroTime && sample.cpu_stats !== undefined;
}

/** The CPU counters of `cpu`; undefined when it carries none (precpu_stats of a first or one-shot sample). */
export function cpuCounters(cpu: EngineCpuStats | undefined): CpuCounters | undefined {
  const containerNanos = cpu?.cpu_usage?.total_usage;
  const systemNanos = cpu?.system_cpu_usage;
  if (typeof containerNanos !== "number" || typeof systemNanos !== "number" || systemNanos <= 0) return undefined;
  // Engines before API 1.27 sent no online_cpus; the CLI counts the per-CPU entries then.
  const onlineCpus = cpu?.online_cpus || cpu?.cpu_usage?.percpu_usage?.length || 0;
  return { containerNanos, systemNanos, onlineCpus };
}

/**
 * Container CPU time over host CPU time between two samples, times the online
 * CPUs, in percent: 100 is one CPU busy. Undefined when the two cannot be
 * compared: no earlier sample, no host time between them (the engine answered
 * the same reading twice), no CPU count, or a container counter that went
 * backwards (the container restarted in between).
 */
export function cpuPercent(previous: CpuCounters | undefined, current: CpuCounters | undefined): number | undefined {
  if (!previous || !current || current.onlineCpus <= 0) return undefined;
  const systemDelta = current.systemNanos - previous.systemNanos;
  const containerDelta = current.containerNanos - previous.containerNanos;
  if (systemDelta <= 0 || containerDelta < 0) return undefined;
  return (containerDelta / systemDelta) * current.onlineCpus * 100;
}

/**
 * Memory in use without the page cache the kernel can reclaim, as the CLI
 * shows it: cgroup v1 reports `total_inactive_file`, v2 `inactive_file`.
 */
export function memoryWithoutCache(memory: EngineContainerStats["memory_stats"]): number {
  const usage = memory?.usage ?? 0;
  const stats = memory?.stats ?? {};
  const v1 = stats.total_inactive_file;
  if (v1 !== undefined && v1 < usage) return usage - v1;
  const v2 = stats.inactive_file ?? 0;
  if (v2 < usage) return usage - v2;
  return usage;
}

/**
 * The figures of `sample`. CPU % compares it with `previous` when given,
 * else with the sample's own precpu_stats (the engine's previous sample of
 * the same stream).
 */
export function statsFigures(sample: EngineContainerStats, previous?: CpuCounters): StatsFigures {
  const current = cpuCounters(sample.cpu_stats);
  const memoryUsageBytes = memoryWithoutCache(sample.memory_stats);
  const memoryLimitBytes = sample.memory_stats?.limit ?? 0;
  let networkRxBytes = 0;
  let networkTxBytes = 0;
  for (const network of Object.values(sample.networks ?? {})) {
    networkRxBytes += network.rx_bytes ?? 0;
    networkTxBytes += network.tx_bytes ?? 0;
  }
  let blockReadBytes = 0;
  let blockWriteBytes = 0;
  // cgroup v1 spells the operations "Read"/"Write", v2 "read"/"write"; the CLI reads the first letter.
  for (const entry of sample.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = entry.op?.[0];
    if (op === "r" || op === "R") blockReadBytes += entry.value ?? 0;
    else if (op === "w" || op === "W") blockWriteBytes += entry.value ?? 0;
  }
  const figures: StatsFigures = {
    readAt: sample.read ?? zeroTime,
    memoryUsageBytes,
    memoryLimitBytes,
    memoryPercent: memoryLimitBytes > 0 ? (memoryUsageBytes / memoryLimitBytes) * 100 : 0,
    networkRxBytes,
    networkTxBytes,
    blockReadBytes,
    blockWriteBytes,
    pids: sample.pids_stats?.current ?? 0,
    onlineCpus: current?.onlineCpus ?? 0,
  };
  const cpu = cpuPercent(previous ?? cpuCounters(sample.precpu_stats), current);
  if (cpu !== undefined) figures.cpuPercent = cpu;
  return figures;
}
