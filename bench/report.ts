import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import type { ScenarioResult } from "./scenario.js";

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  kernel: string;
  docker: string;
  node: string;
}

export function describeMachine(): Machine {
  let docker = "unknown";
  try {
    docker = execFileSync("docker", ["version", "-f", "{{.Server.Version}} (API {{.Server.APIVersion}})"], { encoding: "utf8" }).trim();
  } catch {
    // Reported as unknown.
  }
  return {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    docker,
    node: process.version,
  };
}

const number = (value: number | undefined, unit: string) =>
  value === undefined || Number.isNaN(value) ? "—" : unit === "ms" ? value.toFixed(1) : value.toFixed(0);

export function markdownTable(results: ScenarioResult[], machine: Machine, mode: string, date: string): string {
  const lines = [
    `Measured ${date}, ${mode} mode, on ${machine.cores} × ${machine.cpu}, ${machine.memoryGb} GB, Linux ${machine.kernel}, Docker ${machine.docker}, Node ${machine.node}.`,
    "",
    "| Scenario | Direct alternative | Osiris median / p90 / p99 | Direct median / p90 / p99 | Ratio (medians) | Ratio (pairs) | Target | Met |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    const osiris = `${number(r.osiris.median, r.unit)} / ${number(r.osiris.p90, r.unit)} / ${number(r.osiris.p99, r.unit)} ${r.unit}`;
    const direct = r.directSummary
      ? `${number(r.directSummary.median, r.unit)} / ${number(r.directSummary.p90, r.unit)} / ${number(r.directSummary.p99, r.unit)} ${r.unit}`
      : "—";
    const pair = r.pairRatio === undefined ? "—" : r.pairRatio.toFixed(3);
    lines.push(`| ${r.name} | ${r.direct} | ${osiris} | ${direct} | ${r.ratio.toFixed(3)} | ${pair} | ${r.target} | ${r.met ? "yes" : "**no**"} |`);
  }
  const notes = results.filter((r) => r.notes.length > 0).map((r) => `- ${r.name}: ${r.notes.join("; ")}`);
  if (notes.length > 0) lines.push("", ...notes);
  return lines.join("\n");
}

export function writeResults(results: ScenarioResult[], machine: Machine, mode: string): string {
  const date = new Date().toISOString();
  const table = markdownTable(results, machine, mode, date);
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/latest.json", `${JSON.stringify({ date, mode, machine, results }, null, 2)}\n`);
  writeFileSync("bench/results/latest.md", `${table}\n`);
  return table;
}
