// Ending an exec'd process early (deadline, cancel, output cap, shutdown).
//
// The engine has no exec kill: closing the exec's connection stops its output
// but leaves the process running (checked on engine 20.10: a `sleep 600`
// outlives its connection), and the container kill API reaches PID 1 only.
// Exec inspect gives the process's pid, but in the engine host's PID
// namespace, which Osiris may not share (Osiris in a container, or a remote
// engine), and a pid can be reused. So two ways, tried in order:
//
// 1. On the engine's host, in its PID namespace: when /proc/<pid>/cgroup
//    names the container's id and /proc/<pid>/environ holds the exec's marker
//    (see 2), the pid is this exec's process, not a reused pid nor a process
//    of Osiris's own namespace that happens to have the number. Then the
//    process, its descendants and the container's processes carrying its
//    marker are stopped, collected again (forks that raced the stop), checked
//    again (a pid that ended before its SIGSTOP and went to a process outside
//    the container is let go on), and killed. Needs nothing from the image,
//    and costs no engine call.
// 2. Anywhere else, or without permission to signal (Osiris not root): a
//    second exec, as root in the container, kills every process whose
//    environment holds the exec's marker (OSIRIS_EXEC_ID=<random>): the
//    process and every child it started, even those that left its process
//    group. Needs `sh`, `grep` and `kill` in the image (busybox, Debian,
//    Alpine... not distroless or scratch images).
// Either way, exec inspect then confirms the process ended; if neither way
// could end it, a warning names the container and the pid.
import { readdir, readFile } from "node:fs/promises";
import type { EngineClient, ExecInspect } from "../engine/engine-client.js";
import type { ServiceLog } from "./run-container.js";

/** The variable every exec'd process carries, so the second way can find it and its children. */
export const execMarkerVariable = "OSIRIS_EXEC_ID";

/** How long the kill may take in all; it runs after the caller has gone, so it has no caller's signal. */
const killBudgetMs = 10_000;

export interface ExecProcess {
  containerId: string;
  execId: string;
  /** The value of OSIRIS_EXEC_ID in the process's environment. */
  marker: string;
}

export interface KillOptions {
  /** Whether to try the host's process table first; tests turn it off to prove the second way. */
  hostProcessTable: boolean;
}

/** Kills the exec'd process and its children; resolves once the engine reports it ended (or the budget is spent). Never rejects. */
export async function killExecProcess(
  engine: EngineClient,
  exec: ExecProcess,
  log: ServiceLog,
  options: KillOptions = { hostProcessTable: true },
): Promise<void> {
  const signal = AbortSignal.timeout(killBudgetMs);
  try {
    const first = await engine.inspectExec(exec.execId, signal);
    if (!first.Running) return;
    const onHost = options.hostProcessTable && (await killOnHost(first.Pid, exec));
    const killed = onHost || (await killFromInside(engine, exec, signal));
    if (killed) await settled(engine, exec.execId, signal);
    else log.warn({ container: exec.containerId, pid: first.Pid }, "could not kill an exec'd process: its pid is not visible here and the image has no sh, grep and kill; it may still run");
  } catch (error) {
    log.warn({ err: error, container: exec.containerId }, "could not kill an exec'd process; it may still run");
  }
}

/** Polls exec inspect until the process is no longer running, with growing pauses, until `signal` fires. */
export async function settled(engine: EngineClient, execId: string, signal: AbortSignal): Promise<ExecInspect> {
  let pauseMs = 2;
  for (;;) {
    const inspect = await engine.inspectExec(execId, signal);
    if (!inspect.Running) return inspect;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, pauseMs);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    pauseMs = Math.min(pauseMs * 2, 250);
  }
}

/** The first way; false when the pid is not visibly this container's process here, or Osiris may not signal it. */
async function killOnHost(pid: number, { containerId, marker }: ExecProcess): Promise<boolean> {
  // The container's id in its cgroup is not enough: the exec may have ended
  // and its pid gone to another of the container's processes, or Osiris may
  // see another PID namespace where the number is someone else. Its marker
  // says it is this exec's process.
  if (pid <= 0 || !(await inContainer(pid, containerId)) || !(await carriesMarker(pid, marker))) return false;
  try {
    // Stopped first, so no process of the group forks between the collection and the kill.
    const stopped = new Set<number>();
    const stop = async (members: Set<number>) => {
      for (const member of members) {
        if (!stopped.has(member) && (await inContainer(member, containerId))) {
          signalProcess(member, "SIGSTOP");
          stopped.add(member);
        }
      }
    };
    await stop(await execProcesses(pid, containerId, marker));
    await stop(await execProcesses(pid, containerId, marker));
    // A stopped process cannot end, so its pid cannot be reused between this check and the kill;
    // one that ended before its SIGSTOP and whose pid went to a process outside the container is let go.
    for (const member of stopped) {
      if (await inContainer(member, containerId)) signalProcess(member, "SIGKILL");
      else signalProcess(member, "SIGCONT");
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EPERM") return false;
    throw error;
  }
}

async function carriesMarker(pid: number, marker: string): Promise<boolean> {
  const environment = await readFile(`/proc/${pid}/environ`, "latin1").catch(() => "");
  return environment.split("\0").includes(`${execMarkerVariable}=${marker}`);
}

/** Signals one process; one that ended meanwhile is no failure. */
function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

async function inContainer(pid: number, containerId: string): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/cgroup`, "utf8")).includes(containerId);
  } catch {
    return false;
  }
}

/**
 * The container's processes that belong to the exec: `root`, its
 * descendants (by each process's parent in /proc/<pid>/stat), and any whose
 * environment holds the marker (children that left the tree by a double fork,
 * when Osiris may read their environment).
 */
async function execProcesses(root: number, containerId: string, marker: string): Promise<Set<number>> {
  const children = new Map<number, number[]>();
  const group = new Set<number>([root]);
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry) || !(await inContainer(Number(entry), containerId))) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // The command name may hold spaces and parentheses: the fields that follow start after the last ")".
    const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (Number.isInteger(parent)) children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    if (await carriesMarker(Number(entry), marker)) group.add(Number(entry));
  }
  const pending = [...group];
  while (pending.length > 0) {
    for (const child of children.get(pending.pop()!) ?? []) {
      if (group.has(child)) continue;
      group.add(child);
      pending.push(child);
    }
  }
  return group;
}

/** The second way: a killer exec inside the container; false when it could not run there. */
async function killFromInside(engine: EngineClient, { containerId, marker }: ExecProcess, signal: AbortSignal): Promise<boolean> {
  // The marker is argument $0, not in the killer's environment, so it does not find itself.
  const script = `for d in /proc/[0-9]*; do grep -q "$0" "$d/environ" 2>/dev/null && kill -9 "\${d#/proc/}" 2>/dev/null; done; true`;
  const killer = await engine.createExec(
    containerId,
    {
      Cmd: ["sh", "-c", script, `${execMarkerVariable}=${marker}`],
      Env: [],
      User: "0",
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      Privileged: false,
    },
    signal,
  );
  const connection = await engine.startExec(killer.Id, signal);
  try {
    connection.end();
    for await (const _ of connection) {
      // Drained only: the killer prints nothing worth keeping.
    }
  } finally {
    connection.destroy();
  }
  const result = await settled(engine, killer.Id, signal);
  return result.ExitCode === 0;
}
