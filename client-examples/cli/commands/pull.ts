import type { Command } from "commander";
import { PullProgressView } from "../output/pull-progress.js";
import { defineCommand, type CommandContext } from "./command-context.js";

export function definePull(program: Command, context: CommandContext): void {
  defineCommand(program, "pull", "Pull an image from its registry, with a progress line per layer")
    .argument("<IMAGE>", "image reference, e.g. busybox:1.36 or 127.0.0.1:5000/app")
    .option("-q, --quiet", "only print the image reference when done")
    .action(async (image: string, flags: { quiet?: boolean }, self: Command) => {
      const view = new PullProgressView(context.io.stdout);
      for await (const update of context.client(self).pullDockerImage({ image })) {
        if (update.update.case === "progress" && !flags.quiet) view.show(update.update.value);
      }
      context.print(image);
    });
}
