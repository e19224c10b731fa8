import { execFileSync } from "node:child_process";
import { docker } from "./engine-fixtures.js";

/**
 * Connections the engine has accepted on its socket and not yet closed, as the
 * kernel sees them: every client's, idle keep-alive ones included (Node closes
 * those after about 5 s).
 */
export function engineSocketConnections(socketPath = "/var/run/docker.sock"): number {
  const out = execFileSync("ss", ["-xH", "src", socketPath], { encoding: "utf8" });
  return out.split("\n").filter((line) => line.trim() !== "").length;
}

/** How many /events subscribers the engine itself counts (`docker info`'s NEventsListener). */
export async function engineEventListeners(): Promise<number> {
  const info = (await docker.info()) as { NEventsListener?: number };
  return info.NEventsListener ?? 0;
}
