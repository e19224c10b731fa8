import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EngineContainerStats } from "../../server/containers/engine/engine-client.js";
import { cpuPercent, isRunningSample, memoryWithoutCache, statsFigures } from "../../server/containers/stats/stats-figures.js";
import { StatsWatcher, type StatsFeeds } from "../../server/containers/stats/stats-watcher.js";

/** A cgroup v1 sample as Docker 20.10 sends it (trimmed), with precpu_stats of the previous cycle. */
const cgroupV1: EngineContainerStats = {
  id: "a".repeat(64),
  name: "/web",
  read: "2026-11-29T02:05:58.49447294Z",
  cpu_stats: { cpu_usage: { total_usage: 2_073_384_998, percpu_usage: [1, 2] }, system_cpu_usage: 22_781_220_000_000, online_cpus: 2 },
  precpu_stats: { cpu_usage: { total_usage: 1_073_384_998 }, system_cpu_usage: 22_779_220_000_000, online_cpus: 2 },
  memory_stats: {
    usage: 10_000_000,
    limit: 100_000_000,
    stats: { total_inactive_file: 3_000_000, inactive_file: 1_000_000, cache: 5_000_000 },
  },
  networks: { eth0: { rx_bytes: 486, tx_bytes: 10 }, eth1: { rx_bytes: 14, tx_bytes: 90 } },
  blkio_stats: {
    io_service_bytes_recursive: [
      { op: "Read", value: 4096 },
      { op: "Write", value: 8192 },
      { op: "Sync", value: 1 },
      { op: "Async", value: 2 },
      { op: "Total", value: 12288 },
      { op: "Read", value: 4096 },
    ],
  },
  pids_stats: { current: 7 },
};

/** A cgroup v2 sample: inactive_file only, lower-case block operations. */
const cgroupV2: EngineContainerStats = {
  read: "2026-11-29T02:05:58Z",
  cpu_stats: { cpu_usage: { total_usage: 500_000_000 }, system_cpu_usage: 4_000_000_000, online_cpus: 4 },
  precpu_stats: { cpu_usage: { total_usage: 0 } },
  memory_stats: { usage: 50_000_000, limit: 0, stats: { inactive_file: 20_000_000, anon: 30_000_000 } },
  blkio_stats: { io_service_bytes_recursive: [{ op: "read", value: 100 }, { op: "write", value: 200 }] },
  pids_stats: { current: 3 },
};

describe("stats figures, as `docker stats` computes them", () => {
  it("computes CPU % from the container's and the host's CPU time deltas times the online CPUs (cgroup v1)", () => {
    const figures = statsFigures(cgroupV1);
    // 1e9 ns of container CPU over 2e9 ns of host CPU (two CPUs for one second): one CPU busy.
    assert.equal(figures.cpuPercent, 100);
    assert.equal(figures.onlineCpus, 2);
  });

  it("subtracts total_inactive_file on cgroup v1 and inactive_file on cgroup v2 from memory usage", () => {
    const v1 = statsFigures(cgroupV1);
    assert.equal(v1.memoryUsageBytes, 7_000_000);
    assert.equal(v1.memoryLimitBytes, 100_000_000);
    assert.ok(Math.abs(v1.memoryPercent - 7) < 1e-9);
    const v2 = statsFigures(cgroupV2);
    assert.equal(v2.memoryUsageBytes, 30_000_000);
    assert.equal(v2.memoryPercent, 0, "no limit known: no percentage, rather than a division by zero");
  });

  it("keeps the whole usage when the page cache figure is missing or not below it", () => {
    assert.equal(memoryWithoutCache({ usage: 100, stats: {} }), 100);
    assert.equal(memoryWithoutCache({ usage: 100, stats: { total_inactive_file: 100 } }), 100);
    assert.equal(memoryWithoutCache({}), 0);
  });

  it("sums network bytes over every interface, and block reads and writes by the first letter of the operation", () => {
    const v1 = statsFigures(cgroupV1);
    assert.deepEqual([v1.networkRxBytes, v1.networkTxBytes], [500, 100]);
    assert.deepEqual([v1.blockReadBytes, v1.blockWriteBytes], [8192, 8192]);
    assert.equal(v1.pids, 7);
    const v2 = statsFigures(cgroupV2);
    assert.deepEqual([v2.blockReadBytes, v2.blockWriteBytes, v2.networkRxBytes], [100, 200, 0]);
  });

  it("leaves CPU % unset on a first or one-shot sample, which has no precpu_stats, unless given an earlier reading", () => {
    assert.equal(statsFigures(cgroupV2).cpuPercent, undefined);
    const earlier = { containerNanos: 250_000_000, systemNanos: 2_000_000_000, onlineCpus: 4 };
    // 0.25 s of container CPU over 2 s of host CPU on four CPUs: half a CPU.
    assert.equal(statsFigures(cgroupV2, earlier).cpuPercent, 50);
  });

  it("leaves CPU % unset when the host's CPU time did not move, and gives 0 for an idle container", () => {
    const reading = { containerNanos: 10, systemNanos: 1000, onlineCpus: 2 };
    assert.equal(cpuPercent(reading, reading), undefined, "zero system delta: nothing to divide by");
    assert.equal(cpuPercent(reading, { ...reading, systemNanos: 2000 }), 0);
    assert.equal(cpuPercent(reading, { ...reading, containerNanos: 5, systemNanos: 2000 }), undefined, "a restarted container's counter went back");
  });

  it("counts per-CPU entries when the engine does not report online_cpus", () => {
    const old = statsFigures({
      ...cgroupV1,
      cpu_stats: { cpu_usage: { total_usage: 2_073_384_998, percpu_usage: [1, 2, 3, 4] }, system_cpu_usage: 22_781_220_000_000 },
    });
    assert.equal(old.onlineCpus, 4);
    assert.equal(old.cpuPercent, 200);
  });

  it("recognises the empty sample the engine sends for a container that is not running", () => {
    assert.equal(isRunningSample(cgroupV1), true);
    assert.equal(isRunningSample({ read: "0001-01-01T00:00:00Z", name: "/web", memory_stats: {} }), false);
    assert.equal(isRunningSample({}), false);
  });
});

describe("a stats watcher that stops reading", () => {
  const feeds: StatsFeeds = { join: () => {}, part: () => {} };
  const figures = (pids: number) => ({ ...statsFigures(cgroupV1), pids });

  it("holds one unread sample per container, the newest, however many arrive", async () => {
    const watcher = new StatsWatcher(feeds);
    watcher.add({ id: "a", name: "web" });
    watcher.add({ id: "b", name: "db" });
    for (let i = 0; i < 10_000; i++) {
      watcher.sample("a", figures(i));
      watcher.sample("b", figures(i));
    }
    const signal = new AbortController().signal;
    const first = await watcher.next(signal);
    const second = await watcher.next(signal);
    assert.ok(!first.done && first.value.kind === "sample" && first.value.figures.pids === 9999);
    assert.ok(!second.done && second.value.kind === "sample" && second.value.containerId === "b");
    watcher.close();
  });

  it("replaces an unread sample by the container's leave, and ends once every named container has left", async () => {
    const watcher = new StatsWatcher(feeds);
    watcher.add({ id: "a", name: "web" });
    watcher.noMoreJoins();
    watcher.sample("a", figures(1));
    watcher.feedEnded("a", "removed");
    const signal = new AbortController().signal;
    const left = await watcher.next(signal);
    assert.deepEqual(left.value, { kind: "left", containerId: "a", containerName: "web", reason: "removed" });
    assert.equal((await watcher.next(signal)).done, true);
  });
});
