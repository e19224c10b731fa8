import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { projectRoot } from "./server-process.js";
import { docker } from "./engine-fixtures.js";

const pidFile = `${process.env.OSIRIS_TEST_STATE_DIR ?? "/var/lib/osiris-test"}/dockerd.pid`;

/** The pid of the dockerd test/support/environment.sh started, if that is the one running. */
export function ownEnginePid(): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

async function engineAnswers(): Promise<boolean> {
  return docker.ping().then(
    () => true,
    () => false,
  );
}

/** Stops the test environment's dockerd and waits until it no longer answers. */
export async function stopEngine(): Promise<void> {
  const pid = ownEnginePid();
  if (pid === undefined) throw new Error(`no dockerd started by test/support/environment.sh (${pidFile}); refusing to stop another`);
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (ownEnginePid() === undefined && !(await engineAnswers())) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error("dockerd did not stop within 60 s");
}

/** Starts the engine again the way the test environment does. */
export function startEngine(): void {
  execFileSync("bash", ["test/support/environment.sh", "engine"], { cwd: projectRoot, stdio: "ignore", timeout: 120_000 });
}

/** Freezes the test environment's dockerd (SIGSTOP): it accepts connections but answers nothing. */
export function pauseEngine(): void {
  const pid = ownEnginePid();
  if (pid === undefined) throw new Error("no dockerd started by test/support/environment.sh; refusing to pause another");
  process.kill(pid, "SIGSTOP");
}

export function resumeEngine(): void {
  const pid = ownEnginePid();
  if (pid !== undefined) process.kill(pid, "SIGCONT");
}
