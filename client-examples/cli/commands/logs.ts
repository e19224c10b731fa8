import type { Command } from "commander";
import { logsRequest, type LogsFlags } from "../arguments/logs-arguments.js";
import { copyLogs } from "../output/log-writer.js";
import { defineCommand, type CommandContext } from "./command-context.js";

export function defineLogs(program: Command, context: CommandContext): void {
  defineCommand(program, "logs", "Print a container's output (stdout here, stderr to stderr)")
    .argument("<CONTAINER>", "name or id")
    .option("-f, --follow", "keep printing new output until the container stops")
    .option("-n, --tail <lines>", 'number of lines from the end, or "all"')
    .option("--since <time>", "only output since a time (2026-01-02T15:04:05Z, Unix seconds) or a duration ago (10m, 1h30m)")
    .option("--until <time>", "only output before a time or a duration ago")
    .option("-t, --timestamps", "prefix each line with its time")
    .action(async (container: string, flags: LogsFlags, self: Command) => {
      const request = logsRequest(container, flags, new Date());
      await copyLogs(context.client(self).streamDockerContainerLogs(request), context.io);
    });
}
