import type { Command } from "commander";
import type { Container } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { listRequest } from "../arguments/filter-arguments.js";
import type { OsirisClient } from "../connection.js";
import { containerRow, defaultPsTable, psHeaders, templateData } from "../output/container-rows.js";
import { formatRows } from "../output/formatted-rows.js";
import { compileTemplate, parseFormat } from "../output/template.js";
import { collect, defineCommand, type CommandContext } from "./command-context.js";

/** A bound on pages read, so a server that keeps answering with a token cannot loop the CLI forever. */
const maxPages = 1000;

async function listAll(client: OsirisClient, request: ReturnType<typeof listRequest>): Promise<Container[]> {
  const containers: Container[] = [];
  let pageToken = "";
  for (let page = 0; page < maxPages; page++) {
    const response = await client.listDockerContainers({ ...request, pageSize: 1000, pageToken });
    containers.push(...response.containers);
    pageToken = response.nextPageToken;
    if (pageToken === "") break;
  }
  return containers;
}

export function definePs(program: Command, context: CommandContext): void {
  defineCommand(program, "ps", "List containers (running ones, or all with -a)")
    .option("-a, --all", "show all containers, not only running ones")
    .option("-f, --filter <key=value>", "label=KEY[=VALUE], status=STATE or name=PREFIX (repeatable)", collect)
    .option("--format <format>", "table, table TEMPLATE, json, or a template such as '{{.Names}}\\t{{.Status}}'")
    .option("-q, --quiet", "only print container ids")
    .option("--no-trunc", "print full container ids")
    .action(async (flags: { all?: boolean; filter?: string[]; format?: string; quiet?: boolean; trunc: boolean }, self: Command) => {
      const request = listRequest(flags);
      const format = parseFormat(flags.quiet ? "{{.ID}}" : flags.format, defaultPsTable);
      // The headers know every field: a template naming another fails here, before anything is sent.
      if (format.kind !== "json") compileTemplate(format.template).render(psHeaders);
      const containers = await listAll(context.client(self), request);
      const now = Date.now();
      const rows = containers.map((container) => ({ container, row: containerRow(container, now, !flags.trunc) }));
      const lines = formatRows(
        format,
        rows,
        ({ container, row }) => templateData(container, row),
        ({ row }) => row,
        psHeaders,
      );
      for (const line of lines) context.print(line);
    });
}
