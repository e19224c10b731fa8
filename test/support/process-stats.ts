import { readdirSync, readFileSync } from "node:fs";

/** Open file descriptors of a process, from /proc. */
export function openFiles(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Resident memory of a process in MB, from /proc. */
export function residentMegabytes(pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(line?.[1] ?? 0) / 1024;
}

/**
 * For a server process whose memory a test measures: V8's young generation
 * (up to three semi-spaces of 16 to 64 MB each in Node 24, sized by the
 * machine's memory) holds garbage that RSS counts until the next scavenge,
 * which made the same run read 50–60 MB apart. Small semi-spaces leave RSS
 * to what the process retains, which is what a leak check is about.
 */
export const steadyMemoryOptions = { NODE_OPTIONS: "--max-semi-space-size=2" };
