import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import Docker from "dockerode";
import { docker as mainDocker, testImage } from "./engine-fixtures.js";
import { projectRoot } from "./server-process.js";

const stateDir = process.env.OSIRIS_TEST_STATE_DIR ?? "/var/lib/osiris-test";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A dockerd that tests stop, freeze and start again. It is known by the pid
 * file it was started with, and only that pid is ever signalled: with no live
 * pid there, stop and pause refuse rather than touch an engine someone else runs.
 */
export abstract class ControlledEngine {
  /** A client of this engine. */
  abstract readonly docker: Docker;
  /** Names the engine in error messages. */
  protected abstract readonly description: string;
  protected abstract readonly pidFile: string;

  /** Starts it, and resolves once it answers. */
  abstract start(): Promise<void>;

  /** Its pid, if it is running. */
  pid(): number | undefined {
    if (!existsSync(this.pidFile)) return undefined;
    const pid = Number(readFileSync(this.pidFile, "utf8").trim());
    try {
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }

  /** Stops it (SIGTERM) and waits until it no longer answers. */
  async stop(): Promise<void> {
    process.kill(this.runningPid("stop"), "SIGTERM");
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.pid() === undefined && !(await this.answers())) return;
      await sleep(200);
    }
    throw new Error(`${this.description} did not stop within 60 s`);
  }

  /** Freezes it (SIGSTOP): it accepts connections but answers nothing. */
  pause(): void {
    process.kill(this.runningPid("pause"), "SIGSTOP");
  }

  /** Thaws it after pause; nothing to do when it is not running. */
  resume(): void {
    const pid = this.pid();
    if (pid !== undefined) process.kill(pid, "SIGCONT");
  }

  answers(): Promise<boolean> {
    return this.docker.ping().then(
      () => true,
      () => false,
    );
  }

  protected async answersWithin(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await this.answers()) return true;
      await sleep(200);
    }
    return false;
  }

  private runningPid(action: string): number {
    const pid = this.pid();
    if (pid === undefined) throw new Error(`${this.description} is not running (no live pid in ${this.pidFile}); refusing to ${action} another`);
    return pid;
  }
}

/** The dockerd test/support/environment.sh started, which every other test uses. */
class EnvironmentEngine extends ControlledEngine {
  readonly docker = mainDocker;
  protected readonly description = "the test environment's dockerd";
  protected readonly pidFile = `${stateDir}/dockerd.pid`;

  /** Starts it the way the test environment does; the script returns once the engine answers. */
  async start(): Promise<void> {
    execFileSync("bash", ["test/support/environment.sh", "engine"], { cwd: projectRoot, stdio: "ignore", timeout: 120_000 });
  }
}

/** The main engine. Tests that stop it must not run beside others (see test/support/environment.sh). */
export const mainEngine: ControlledEngine = new EnvironmentEngine();

const bridge = "osiris-tw0";
/** A link-local /24 that no real network uses, for the throwaway engine's bridge. */
const bridgeAddress = "169.254.213.1/24";

function ensureBridge(): void {
  try {
    execFileSync("ip", ["link", "show", bridge], { stdio: "ignore" });
    return;
  } catch {
    // Not there yet.
  }
  execFileSync("ip", ["link", "add", "name", bridge, "type", "bridge"]);
  execFileSync("ip", ["addr", "add", bridgeAddress, "dev", bridge]);
  execFileSync("ip", ["link", "set", bridge, "up"]);
}

/**
 * A second dockerd with its own socket, data root and exec root, for tests
 * that stop or freeze an engine mid-load. Whatever such abuse leaves behind
 * (a dead container whose filesystem the kernel still holds) stays in this
 * engine's folders, which are thrown away, instead of in the main engine.
 */
export class ThrowawayEngine extends ControlledEngine {
  readonly root = "/run/osiris-throwaway";
  readonly dataRoot = `${stateDir}/throwaway`;
  readonly socket = `${this.root}/docker.sock`;
  readonly endpoint = `unix://${this.socket}`;
  readonly docker = new Docker({ socketPath: this.socket });
  protected readonly description = "the throwaway dockerd";
  protected readonly pidFile = `${this.root}/dockerd.pid`;

  /** Starts the engine and loads the test image into it from the main engine. */
  async start(): Promise<void> {
    mkdirSync(this.root, { recursive: true });
    mkdirSync(this.dataRoot, { recursive: true });
    ensureBridge();
    const child = spawn(
      "dockerd",
      [
        "--data-root", this.dataRoot,
        "--exec-root", `${this.root}/exec`,
        "--pidfile", this.pidFile,
        "-H", this.endpoint,
        // A bridge of its own, and no iptables rules: it must not touch the main
        // engine's network. (With --bridge=none dockerd deletes docker0.)
        `--bridge=${bridge}`,
        "--iptables=false",
        "--ip-masq=false",
      ],
      { detached: true, stdio: "ignore" },
    );
    child.unref();
    if (!(await this.answersWithin(30_000))) throw new Error(`${this.description} did not answer within 30 s`);
    if (!(await this.docker.getImage(testImage).inspect().then(() => true, () => false))) {
      execFileSync("sh", ["-c", `docker save ${testImage} | docker -H ${this.endpoint} load`], { stdio: "ignore" });
    }
  }

  /** Stops it, ends what it left running, unmounts what it left mounted and deletes its folders. */
  async destroy(): Promise<void> {
    this.resume();
    await this.stop().catch(() => undefined);
    try {
      execFileSync("pkill", ["-KILL", "-f", this.root]);
    } catch {
      // Nothing left running.
    }
    const mounts = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .map((line) => line.split(" ")[4] ?? "")
      .filter((point) => point.startsWith(this.root) || point.startsWith(this.dataRoot))
      .reverse();
    for (const point of mounts) {
      try {
        execFileSync("umount", ["-l", point], { stdio: "ignore" });
      } catch {
        // Already gone.
      }
    }
    rmSync(this.root, { recursive: true, force: true });
    rmSync(this.dataRoot, { recursive: true, force: true });
    try {
      execFileSync("ip", ["link", "delete", bridge], { stdio: "ignore" });
    } catch {
      // Already gone.
    }
  }
}
