import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";
import { finished } from "node:stream/promises";
import { abortReason } from "../engine/abortable.js";
import { engineCall, engineFailure } from "../engine/engine-call.js";
import { LogFrameDecoder, type LogStreamName } from "../engine/log-frames.js";
import { ContainerNotRunningError, PolicyViolationError } from "../errors.js";
import { refuseHostAccess } from "../policy/host-access.js";
import { inspectInScope, type EngineInScope } from "./container-lookup.js";
import { execMarkerVariable, killExecProcess, settled, type ExecProcess } from "./exec-process-kill.js";
import type { ServiceLog } from "./run-container.js";

/** The most output of each stream one exec may return, whatever its request or the server's default say. */
export const execOutputHardMaxBytes = 8 * 1024 * 1024;
/** The most stdin one exec may send. */
export const execStdinMaxBytes = 1024 * 1024;

export interface ExecSettings {
  /** OSIRIS_EXEC: false refuses every exec. */
  enabled: boolean;
  /** OSIRIS_EXEC_MAX_OUTPUT_BYTES: the cap of each stream when a request sets none. */
  defaultMaxOutputBytes: number;
}

export interface ExecSpec {
  container: string;
  /** The program and its arguments; not empty. */
  command: string[];
  env: Record<string, string>;
  user?: string;
  workingDir?: string;
  /** Written to the process's standard input, which is then closed; empty attaches none. */
  stdin: Buffer;
  /** The cap of each output stream; the server's default when unset. */
  maxOutputBytes?: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  /** The stream passed the cap: it holds the first bytes only, and the process was killed. */
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

/** One output stream, kept up to the cap. */
class CappedOutput {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  truncated = false;

  constructor(private readonly cap: number) {}

  /** Keeps what fits; false once the cap is passed. */
  push(data: Buffer): boolean {
    const room = this.cap - this.bytes;
    if (data.length > room) {
      // Copied: a view would keep the whole socket chunk alive.
      if (room > 0) this.chunks.push(Buffer.from(data.subarray(0, room)));
      this.bytes = this.cap;
      this.truncated = true;
      return false;
    }
    this.chunks.push(data);
    this.bytes += data.length;
    return true;
  }

  get data(): Buffer {
    return Buffer.concat(this.chunks, this.bytes);
  }
}

/**
 * Runs a command in a running container, like `docker exec` without `-it`,
 * and returns its exit code and output. Never privileged. The process and
 * its children are killed (see exec-process-kill.ts) when an output stream
 * passes its cap, before the answer, or when the caller's signal fires
 * (deadline, cancel, shutdown): the caller is answered at once and the kill
 * runs on. The engine connection is closed once the process has ended.
 * A container that can reach the host (see policy/host-access.ts) is refused.
 */
export async function execInContainer(
  target: EngineInScope,
  settings: ExecSettings,
  /** OSIRIS_BIND_MOUNT_ALLOWLIST: the container's binds must pass a Run's checks. */
  bindMountAllowlist: readonly string[],
  log: ServiceLog,
  spec: ExecSpec,
  signal: AbortSignal,
): Promise<ExecResult> {
  if (!settings.enabled) {
    throw new PolicyViolationError("OSIRIS_EXEC", "exec is turned off on this server (OSIRIS_EXEC=off); ask its operator to turn it on");
  }
  const { engine } = target;
  const inspect = await inspectInScope(target, spec.container, signal);
  if (inspect.State.Status !== "running") throw new ContainerNotRunningError(spec.container, `it is ${inspect.State.Status}`);
  // An exec runs whatever the caller asks with the container's powers: never in one that reaches the host.
  await refuseHostAccess(engine, bindMountAllowlist, spec.container, "exec into", inspect, signal);
  const operation = (kind: "create-exec" | "start-exec" | "inspect-exec") => ({ kind, container: spec.container }) as const;
  const marker = randomBytes(12).toString("hex");
  const env = [...Object.entries(spec.env).map(([key, value]) => `${key}=${value}`), `${execMarkerVariable}=${marker}`];
  const { Id: execId } = await engineCall(engine, operation("create-exec"), signal, () =>
    engine.createExec(
      inspect.Id,
      {
        Cmd: spec.command,
        Env: env,
        ...(spec.user === undefined ? {} : { User: spec.user }),
        ...(spec.workingDir === undefined ? {} : { WorkingDir: spec.workingDir }),
        AttachStdin: spec.stdin.length > 0,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        Privileged: false,
      },
      signal,
    ),
  );
  const running: ExecProcess = { containerId: inspect.Id, execId, marker };
  const cap = Math.min(spec.maxOutputBytes ?? settings.defaultMaxOutputBytes, execOutputHardMaxBytes);
  const output = { stdout: new CappedOutput(cap), stderr: new CappedOutput(cap) };
  // From here on the process may run. The connection is closed only once the
  // process has ended or been killed: a process writing into a closed
  // connection makes the engine report the exec over (126) while it runs on,
  // and Osiris would then find nothing to kill.
  const connection = await engineCall(engine, operation("start-exec"), signal, () => engine.startExec(execId, signal)).catch(
    (error: unknown) => {
      void killExecProcess(engine, running, log);
      throw error;
    },
  );
  // Whether the process is known to have ended (or Osiris already tried to kill it).
  let over = false;
  try {
    connection.end(spec.stdin.length > 0 ? spec.stdin : undefined);
    const stop = stopSignal(signal);
    const reading = readFrames(connection, (stream, data) => {
      if (!output[stream].push(data)) stop.fire("over-cap");
    });
    // Handled here too: after a stop, nobody awaits the reading when it fails.
    reading.catch(() => undefined);
    const ended = await Promise.race([reading.then(() => "ended" as const), stop.fired]);
    stop.dispose();
    if (ended === "aborted") throw abortReason(signal);
    if (ended === "over-cap") {
      // Drained meanwhile, so the process is not blocked on a full pipe while it is killed.
      await killExecProcess(engine, running, log);
      over = true;
      await Promise.race([reading.catch(() => undefined), delay(outputAfterKillMs)]);
    }
    const result = await engineCall(engine, operation("inspect-exec"), signal, () =>
      ended === "ended" ? settled(engine, execId, signal) : engine.inspectExec(execId, signal),
    );
    over = true;
    return {
      // -1: the process could not be killed (logged), so it has no exit code yet.
      exitCode: result.ExitCode ?? -1,
      stdout: output.stdout.data,
      stderr: output.stderr.data,
      stdoutTruncated: output.stdout.truncated,
      stderrTruncated: output.stderr.truncated,
    };
  } catch (error) {
    throw engineFailure(engine, operation("start-exec"), signal, error);
  } finally {
    if (over) connection.destroy();
    // The caller gets its answer now; the kill runs on, and the connection closes after it.
    else void killExecProcess(engine, running, log).finally(() => connection.destroy());
  }
}

/** How long the rest of a killed process's output may take to arrive before its connection is closed. */
const outputAfterKillMs = 2000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Feeds each output frame to `onFrame` until the connection's output ends; the rest is drained and dropped. */
function readFrames(connection: Duplex, onFrame: (stream: LogStreamName, data: Buffer) => void): Promise<void> {
  const frames = new LogFrameDecoder();
  connection.on("data", (chunk: Buffer) => {
    for (const frame of frames.push(chunk)) onFrame(frame.stream, frame.data);
  });
  return finished(connection, { writable: false });
}

/** Fires with "aborted" when `signal` does, or with whatever `fire` is given first. */
function stopSignal(signal: AbortSignal): {
  fired: Promise<"over-cap" | "aborted">;
  fire(reason: "over-cap" | "aborted"): void;
  dispose(): void;
} {
  let fire: (reason: "over-cap" | "aborted") => void = () => {};
  const fired = new Promise<"over-cap" | "aborted">((resolve) => (fire = resolve));
  const onAbort = () => fire("aborted");
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  return { fired, fire, dispose: () => signal.removeEventListener("abort", onAbort) };
}
