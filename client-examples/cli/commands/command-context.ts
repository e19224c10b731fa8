import { Command, Option } from "commander";
import type { CliIo } from "../cli-io.js";
import { connectToOsiris, serverToken, serverUrl, type OsirisClient, type ServerOptions } from "../connection.js";

/** What every command gets: the process's streams and a client for the server the flags name. */
export class CommandContext {
  /** The server a failure is reported against; set when a command connects. */
  server: string | undefined;
  /** The process's exit code once the command is done; a command sets it, for example `run` to the container's. */
  exitCode = 0;

  constructor(
    readonly io: CliIo,
    private readonly program: Command,
  ) {}

  /** A client for `--url`/`--token` given before or after the command name, else OSIRIS_URL/OSIRIS_TOKEN. */
  client(command: Command): OsirisClient {
    const local = command.opts<ServerOptions>();
    const global = this.program.opts<ServerOptions>();
    const options = { url: local.url ?? global.url, token: local.token ?? global.token };
    this.server = serverUrl(options, this.io.env);
    return connectToOsiris(this.server, serverToken(options, this.io.env));
  }

  print(line: string): void {
    this.io.stdout.write(`${line}\n`);
  }

  printError(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }
}

/** Adds a subcommand that also accepts the server flags after its name (`osiris ps --url ...`). */
export function defineCommand(program: Command, nameAndArguments: string, description: string): Command {
  const command = program.command(nameAndArguments).description(description);
  const name = command.name();
  command
    .addOption(new Option("--url <url>").hideHelp())
    .addOption(new Option("--token <token>").hideHelp())
    .showHelpAfterError(`See 'osiris ${name} --help'.`);
  return command;
}

/** For repeatable flags: `-e A=1 -e B=2` collects ["A=1", "B=2"]. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
