import { Code, ConnectError } from "@connectrpc/connect";
import type { Command } from "commander";
import { WaitCondition } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { runRequest, type RunFlags } from "../arguments/run-arguments.js";
import type { OsirisClient } from "../connection.js";
import { describeFailure, UsageError } from "../failures.js";
import { copyLogs } from "../output/log-writer.js";
import { collect, defineCommand, type CommandContext } from "./command-context.js";

/** How long the log stream may lag behind the container's exit before the CLI stops reading it. */
const logDrainBoundMs = 30_000;

export function defineRun(program: Command, context: CommandContext): void {
  defineCommand(program, "run", "Create and start a container; without -d, print its output and exit with its exit code")
    .argument("<IMAGE>", "image reference, e.g. busybox or registry:5000/app:1.2")
    .argument("[COMMAND...]", "command and arguments, replacing the image's CMD")
    .passThroughOptions()
    .option("-d, --detach", "run in the background and print the container id")
    .option("--name <name>", "assign a name to the container")
    .option("-e, --env <KEY=VALUE>", "set an environment variable; KEY alone copies it from this shell (repeatable)", collect)
    .option("--env-file <file>", "read environment variables from a file of KEY=VALUE lines (repeatable)", collect)
    .option("-p, --publish <[IP:][HOST:]CONTAINER[/PROTO]>", "publish a port, e.g. 8080:80, 127.0.0.1::53/udp (repeatable)", collect)
    .option("--pull <missing|always|never>", "when to pull the image (default missing)")
    .option("--restart <policy>", "no, always, unless-stopped or on-failure[:max-retries] (default no)")
    .option("-m, --memory <bytes>", "memory limit, e.g. 512m or 1g (at least 6m)")
    .option("--cpus <number>", "CPU limit, e.g. 1.5")
    .option("-l, --label <key=value>", "set a label (repeatable)", collect)
    .option("--rm", "remove the container when it exits")
    .option("-w, --workdir <dir>", "working directory inside the container")
    .option("-u, --user <user[:group]>", "user to run as")
    .option("--entrypoint <command>", "override the image's ENTRYPOINT")
    .option("-v, --volume <NAME:/path[:ro]>", "mount an Osiris volume, or a host path read-only with /host:/path:ro (repeatable)", collect)
    .option("--tmpfs <path>", "mount a tmpfs (repeatable)", collect)
    .option("-i, --interactive", "not supported: Osiris attaches to output only")
    .option("-t, --tty", "not supported: Osiris containers have no TTY")
    .action(async (image: string, command: string[], flags: RunFlags & { interactive?: boolean; tty?: boolean }, self: Command) => {
      if (flags.interactive || flags.tty) {
        throw new UsageError("run -i/-t is not supported: Osiris attaches to a container's output only, without stdin or a TTY; drop -i/-t (use -d and osiris exec for commands)");
      }
      const request = runRequest(image, command, flags, context.io.env);
      const client = context.client(self);
      const { container, warnings } = await client.runDockerContainer(request);
      for (const warning of warnings) context.printError(`WARNING: ${warning}`);
      const id = container?.id ?? "";
      if (flags.detach) {
        context.print(id);
        return;
      }
      context.exitCode = await attach(client, id, Boolean(flags.rm), context);
    });
}

/**
 * docker run without -d: follow the container's output until it exits, then
 * report its exit code. Ctrl-C stops the container (SIGINT, then SIGKILL
 * after its stop timeout); a second Ctrl-C leaves it running and exits.
 * `--rm` removes the container here, after its output was read: the engine's
 * auto-remove could delete a quick container before its logs are fetched.
 */
async function attach(client: OsirisClient, id: string, remove: boolean, context: CommandContext): Promise<number> {
  const logsDone = new AbortController();
  let interrupts = 0;
  let detached: () => void = () => undefined;
  const detachedByUser = new Promise<number>((resolve) => (detached = () => resolve(130)));
  const stopListening = context.io.onInterrupt(() => {
    interrupts++;
    if (interrupts > 1) return detached();
    context.printError("Stopping the container (press Ctrl-C again to leave it running)...");
    client.stopDockerContainer({ container: id, signal: "SIGINT", ignoreAlreadyStopped: true }).catch(() => undefined);
  });
  try {
    // Never rejects: this promise is not awaited on every path, and an unhandled rejection would end the process with a stack.
    let logFailure: unknown;
    const logs = copyLogs(client.streamDockerContainerLogs({ container: id, follow: true }, { signal: logsDone.signal }), context.io).catch(
      (error: unknown) => {
        if (!(error instanceof ConnectError && error.code === Code.Canceled)) logFailure = error;
      },
    );
    const exited = client.waitDockerContainer({ container: id, condition: WaitCondition.NOT_RUNNING });
    const outcome = await Promise.race([exited.then((response) => response.exitCode), detachedByUser]);
    if (interrupts > 1) return outcome;
    let drainTimer: NodeJS.Timeout | undefined;
    await Promise.race([logs, new Promise((resolve) => (drainTimer = setTimeout(resolve, logDrainBoundMs)))]);
    clearTimeout(drainTimer);
    logsDone.abort();
    // The exit code is still the container's; the user learns why output may be missing.
    if (logFailure !== undefined) for (const line of describeFailure(logFailure, context.server ?? "")) context.printError(line);
    if (remove) await client.removeDockerContainer({ container: id, force: true, ignoreNotFound: true });
    return outcome;
  } finally {
    stopListening();
  }
}
