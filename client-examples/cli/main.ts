// `osiris`: docker's everyday commands, flags and output, against an Osiris
// server. A client of the generated service only; it never imports server/.
import { Command, CommanderError } from "commander";
import type { CliIo } from "./cli-io.js";
import { defineContainerActions } from "./commands/container-actions.js";
import { CommandContext } from "./commands/command-context.js";
import { defineEvents } from "./commands/events.js";
import { defineExec } from "./commands/exec.js";
import { defineImages } from "./commands/images.js";
import { defineInspect } from "./commands/inspect.js";
import { defineLogs } from "./commands/logs.js";
import { definePs } from "./commands/ps.js";
import { definePull } from "./commands/pull.js";
import { defineRun } from "./commands/run.js";
import { defineStats } from "./commands/stats.js";
import { defineWait } from "./commands/wait.js";
import { defaultServerUrl } from "./connection.js";
import { describeFailure, osirisErrorExitCode } from "./failures.js";

/**
 * Runs one command line and resolves with the exit code: 0, the container's
 * code (`run` without -d, `wait`), or 125 when the CLI or Osiris failed,
 * as docker uses 125 for its own errors.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const program = new Command("osiris")
    .description("Control containers through an Osiris server with docker's commands, flags and output.")
    .option("--url <url>", `Osiris server URL (env OSIRIS_URL; default ${defaultServerUrl})`)
    .option("--token <token>", "bearer token (env OSIRIS_TOKEN)")
    // Options after `run IMAGE` belong to the container's command, as in docker.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .configureHelp({ showGlobalOptions: true });
  const context = new CommandContext(io, program);
  defineRun(program, context);
  defineContainerActions(program, context);
  definePs(program, context);
  defineLogs(program, context);
  defineEvents(program, context);
  definePull(program, context);
  defineInspect(program, context);
  defineWait(program, context);
  defineStats(program, context);
  defineExec(program, context);
  defineImages(program, context);
  try {
    await program.parseAsync(argv, { from: "user" });
    return context.exitCode;
  } catch (error) {
    // commander has already printed its message (unknown flag, missing argument) or the help.
    // `osiris` alone prints the help, as `docker` alone does, and that is no error.
    if (error instanceof CommanderError) return error.exitCode === 0 || error.code === "commander.help" ? 0 : osirisErrorExitCode;
    for (const line of describeFailure(error, context.server ?? defaultServerUrl)) io.stderr.write(`${line}\n`);
    return osirisErrorExitCode;
  }
}

/** The real process's streams and Ctrl-C. */
export function processIo(): CliIo {
  // `osiris logs x | head` closes the pipe early; that ends the command, it is not an error.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
  });
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    onInterrupt(listener) {
      process.on("SIGINT", listener);
      return () => process.off("SIGINT", listener);
    },
  };
}
