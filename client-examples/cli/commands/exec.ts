import type { Command } from "commander";
import { addEnvironmentVariable } from "../arguments/key-values.js";
import { parseGoDuration } from "../arguments/times.js";
import { badFlag } from "../arguments/flag-error.js";
import type { CliIo } from "../cli-io.js";
import { writeOut } from "../cli-io.js";
import { UsageError } from "../failures.js";
import { collect, defineCommand, type CommandContext } from "./command-context.js";

/** The proto's bound on `stdin`. */
const maxStdinBytes = 1024 * 1024;

/** Reads all of stdin for `exec -i`, refusing more than the server accepts rather than sending a cut-off input. */
async function readStdin(io: CliIo): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    size += bytes.length;
    if (size > maxStdinBytes) throw new UsageError(`stdin is larger than ${maxStdinBytes} bytes, the most exec -i can send`);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}

export function defineExec(program: Command, context: CommandContext): void {
  defineCommand(program, "exec", "Run a command in a running container and exit with its exit code")
    .argument("<CONTAINER>", "name or id")
    .argument("<COMMAND...>", "program and arguments (no shell: use sh -c '...' for one)")
    .passThroughOptions()
    .option("-e, --env <KEY=VALUE>", "set an environment variable (repeatable)", collect)
    .option("-u, --user <user[:group]>", "user to run as")
    .option("-w, --workdir <dir>", "working directory inside the container")
    .option("-i, --interactive", "send this process's stdin (at most 1 MiB) to the command")
    .option("-t, --tty", "not supported: Osiris exec has no TTY")
    .option("--timeout <duration>", "kill the command after this long, e.g. 30s or 5m (default: no limit)")
    .action(
      async (
        container: string,
        command: string[],
        flags: { env?: string[]; user?: string; workdir?: string; interactive?: boolean; tty?: boolean; timeout?: string },
        self: Command,
      ) => {
        if (flags.tty) {
          throw new UsageError("exec -t is not supported: Osiris runs exec without a TTY (an interactive session needs a bidirectional stream); drop -t");
        }
        const env: Record<string, string> = {};
        for (const spec of flags.env ?? []) addEnvironmentVariable(spec, env, context.io.env);
        let timeoutMs: number | undefined;
        if (flags.timeout !== undefined) {
          const nanoseconds = parseGoDuration(flags.timeout);
          if (nanoseconds === undefined || nanoseconds <= 0) throw badFlag("--timeout", flags.timeout, "expected a duration like 30s or 5m");
          timeoutMs = Math.ceil(nanoseconds / 1e6);
        }
        const stdin = flags.interactive ? await readStdin(context.io) : new Uint8Array();
        // Ctrl-C cancels the call; the server then kills the command and its children.
        const cancel = new AbortController();
        const stopListening = context.io.onInterrupt(() => cancel.abort());
        try {
          const result = await context.client(self).execDockerContainer(
            { container, command, env, user: flags.user ?? "", workingDir: flags.workdir ?? "", stdin },
            { signal: cancel.signal, timeoutMs },
          );
          await writeOut(context.io.stdout, result.stdout);
          await writeOut(context.io.stderr, result.stderr);
          for (const [name, truncated] of [
            ["stdout", result.stdoutTruncated],
            ["stderr", result.stderrTruncated],
          ] as const) {
            if (truncated) context.printError(`osiris: the command's ${name} passed the server's output limit; it was cut off and the command killed`);
          }
          context.exitCode = result.exitCode;
        } catch (error) {
          // Ctrl-C: the server killed the command; exit as a shell does after SIGINT, without an error.
          if (cancel.signal.aborted) context.exitCode = 130;
          else throw error;
        } finally {
          stopListening();
        }
      },
    );
}
