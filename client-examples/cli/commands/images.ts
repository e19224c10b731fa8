import type { Command } from "commander";
import { describeFailure, isUnreachable, osirisErrorExitCode } from "../failures.js";
import { formatRows } from "../output/formatted-rows.js";
import { defaultImagesTable, imageHeaders, imageRows } from "../output/image-rows.js";
import { compileTemplate, parseFormat } from "../output/template.js";
import { defineCommand, type CommandContext } from "./command-context.js";

export function defineImages(program: Command, context: CommandContext): void {
  defineCommand(program, "images", "List local images")
    .argument("[REPOSITORY[:TAG]]", "only images of this repository (and tag)")
    .option("--format <format>", "table, table TEMPLATE, json, or a template such as '{{.Repository}}:{{.Tag}}'")
    .option("-q, --quiet", "only print image ids")
    .option("--no-trunc", "print full image ids")
    .action(async (wanted: string | undefined, flags: { format?: string; quiet?: boolean; trunc: boolean }, self: Command) => {
      const format = parseFormat(flags.quiet ? "{{.ID}}" : flags.format, defaultImagesTable);
      if (format.kind !== "json") compileTemplate(format.template).render(imageHeaders);
      const { images } = await context.client(self).listDockerImages({});
      const now = Date.now();
      let rows = images.flatMap((image) => imageRows(image, now, !flags.trunc));
      if (wanted !== undefined) {
        const colon = wanted.lastIndexOf(":");
        const [repository, tag] = colon > wanted.lastIndexOf("/") ? [wanted.slice(0, colon), wanted.slice(colon + 1)] : [wanted, undefined];
        rows = rows.filter((row) => row.Repository === repository && (tag === undefined || row.Tag === tag));
      }
      // -q lists each image once, as docker does, however many names it has.
      if (flags.quiet) rows = rows.filter((row, index) => rows.findIndex((other) => other.ID === row.ID) === index);
      for (const line of formatRows(format, rows, (row) => row, (row) => row, imageHeaders)) context.print(line);
    });

  defineCommand(program, "rmi", "Remove one or more images")
    .argument("<IMAGE...>", "names or ids")
    .option("-f, --force", "untag an image a stopped container uses, or an id with several names")
    .action(async (images: string[], flags: { force?: boolean }, self: Command) => {
      const client = context.client(self);
      for (const image of images) {
        try {
          const { untagged, deleted } = await client.removeDockerImage({ image, force: Boolean(flags.force) });
          for (const name of untagged) context.print(`Untagged: ${name}`);
          for (const id of deleted) context.print(`Deleted: ${id}`);
        } catch (error) {
          if (isUnreachable(error)) throw error;
          for (const line of describeFailure(error, context.server ?? "")) context.printError(line);
          context.exitCode = osirisErrorExitCode;
        }
      }
    });
}
