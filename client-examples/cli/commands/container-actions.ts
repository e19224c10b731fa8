import type { Command } from "commander";
import type { OsirisClient } from "../connection.js";
import { describeFailure, isUnreachable, osirisErrorExitCode } from "../failures.js";
import { parseCount } from "../arguments/quantities.js";
import { defineCommand, type CommandContext } from "./command-context.js";

/**
 * Runs one action per container concurrently, printing each name as it
 * succeeds and each failure as it happens, as docker's stop/start/rm do;
 * the exit code is 125 if any failed. An unreachable server ends the command
 * with one line instead of one per container.
 */
async function forEachContainer(
  context: CommandContext,
  self: Command,
  containers: string[],
  action: (client: OsirisClient, container: string) => Promise<unknown>,
): Promise<void> {
  const client = context.client(self);
  const results = await Promise.allSettled(
    containers.map(async (container) => {
      await action(client, container);
      context.print(container);
    }),
  );
  const failures = results.flatMap((result) => (result.status === "rejected" ? [result.reason as unknown] : []));
  const unreachable = failures.find(isUnreachable);
  if (unreachable !== undefined) throw unreachable;
  for (const failure of failures) for (const line of describeFailure(failure, context.server ?? "")) context.printError(line);
  if (failures.length > 0) context.exitCode = osirisErrorExitCode;
}

export function defineContainerActions(program: Command, context: CommandContext): void {
  defineCommand(program, "stop", "Stop one or more running containers (stop signal, then SIGKILL after the grace period)")
    .argument("<CONTAINER...>", "names or ids")
    .option("-t, --time <seconds>", "seconds to wait before killing (default: the container's stop timeout, else 10)")
    .option("-s, --signal <signal>", "signal to send, by name or number (default: the image's STOPSIGNAL, else SIGTERM)")
    .action(async (containers: string[], flags: { time?: string; signal?: string }, self: Command) => {
      const timeoutSeconds = flags.time === undefined ? undefined : parseCount(flags.time, "-t, --time");
      await forEachContainer(context, self, containers, (client, container) =>
        // Stopping a stopped container succeeds, as in docker.
        client.stopDockerContainer({ container, timeoutSeconds, signal: flags.signal ?? "", ignoreAlreadyStopped: true }),
      );
    });

  defineCommand(program, "start", "Start one or more stopped containers")
    .argument("<CONTAINER...>", "names or ids")
    .action(async (containers: string[], _flags: object, self: Command) => {
      await forEachContainer(context, self, containers, (client, container) =>
        client.startDockerContainer({ container, ignoreAlreadyRunning: true }),
      );
    });

  defineCommand(program, "restart", "Restart one or more containers")
    .argument("<CONTAINER...>", "names or ids")
    .option("-t, --time <seconds>", "seconds to wait before killing (default: the container's stop timeout, else 10)")
    .action(async (containers: string[], flags: { time?: string }, self: Command) => {
      const timeoutSeconds = flags.time === undefined ? undefined : parseCount(flags.time, "-t, --time");
      await forEachContainer(context, self, containers, (client, container) => client.restartDockerContainer({ container, timeoutSeconds }));
    });

  defineCommand(program, "rm", "Remove one or more containers")
    .argument("<CONTAINER...>", "names or ids")
    .option("-f, --force", "kill and remove a running container")
    .option("-v, --volumes", "also remove the container's anonymous volumes")
    .action(async (containers: string[], flags: { force?: boolean; volumes?: boolean }, self: Command) => {
      await forEachContainer(context, self, containers, (client, container) =>
        client.removeDockerContainer({ container, force: Boolean(flags.force), removeVolumes: Boolean(flags.volumes) }),
      );
    });
}
