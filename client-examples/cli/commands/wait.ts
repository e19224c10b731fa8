import type { Command } from "commander";
import { WaitCondition } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { defineCommand, type CommandContext } from "./command-context.js";

export function defineWait(program: Command, context: CommandContext): void {
  defineCommand(program, "wait", "Block until containers stop, print their exit codes and exit with the container's code")
    .argument("<CONTAINER...>", "names or ids")
    .action(async (containers: string[], _flags: object, self: Command) => {
      const client = context.client(self);
      for (const container of containers) {
        const { exitCode, error } = await client.waitDockerContainer({ container, condition: WaitCondition.NOT_RUNNING });
        if (error !== "") context.printError(`Error waiting for ${container}: ${error}`);
        context.print(String(exitCode));
        // docker wait exits 0; Osiris's exits with the code, the first non-zero one for several containers.
        if (context.exitCode === 0) context.exitCode = exitCode;
      }
    });
}
