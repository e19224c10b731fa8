import { toJson } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { ContainerSchema } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { describeFailure, isUnreachable, osirisErrorExitCode } from "../failures.js";
import { compileTemplate } from "../output/template.js";
import { defineCommand, type CommandContext } from "./command-context.js";

export function defineInspect(program: Command, context: CommandContext): void {
  defineCommand(program, "inspect", "Print containers as JSON (Osiris's Container message in proto JSON)")
    .argument("<CONTAINER...>", "names or ids")
    .option("-f, --format <template>", "print each container through a template, e.g. '{{.state}} {{.exitCode}}'")
    .action(async (containers: string[], flags: { format?: string }, self: Command) => {
      const template = flags.format === undefined ? undefined : compileTemplate(flags.format);
      const client = context.client(self);
      const found: unknown[] = [];
      for (const container of containers) {
        try {
          const response = await client.getDockerContainer({ container });
          if (response.container) found.push(toJson(ContainerSchema, response.container, { alwaysEmitImplicit: true }));
        } catch (error) {
          if (isUnreachable(error)) throw error;
          for (const line of describeFailure(error, context.server ?? "")) context.printError(line);
          context.exitCode = osirisErrorExitCode;
        }
      }
      if (template !== undefined) for (const container of found) context.print(template.render(container));
      // docker prints an array even for one container, indented by four spaces.
      else context.print(JSON.stringify(found, null, 4));
    });
}
