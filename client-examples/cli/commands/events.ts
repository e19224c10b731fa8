import type { Command } from "commander";
import { eventsRequest } from "../arguments/filter-arguments.js";
import { dockerEvent, eventLine } from "../output/event-lines.js";
import { compileTemplate } from "../output/template.js";
import { collect, defineCommand, type CommandContext } from "./command-context.js";

export function defineEvents(program: Command, context: CommandContext): void {
  defineCommand(program, "events", "Print container events as they happen, until Ctrl-C")
    .option("-f, --filter <key=value>", "label=KEY[=VALUE], container=NAME, event=start|die|... (repeatable)", collect)
    .option("--format <format>", "json, or a template such as '{{.Action}} {{.Actor.Attributes.name}}'")
    .action(async (flags: { filter?: string[]; format?: string }, self: Command) => {
      const request = eventsRequest(flags);
      const template = flags.format === undefined || flags.format === "json" ? undefined : compileTemplate(flags.format);
      for await (const event of context.client(self).watchDockerEvents(request)) {
        if (flags.format === "json") context.print(JSON.stringify(dockerEvent(event)));
        else if (template !== undefined) context.print(template.render(dockerEvent(event)));
        else context.print(eventLine(event));
      }
    });
}
