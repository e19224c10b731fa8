import type { Command } from "commander";
import { writeOut } from "../cli-io.js";
import { formatRows } from "../output/formatted-rows.js";
import { defaultStatsTable, statsHeaders, statsRow, type StatsRow } from "../output/stats-rows.js";
import { compileTemplate, parseFormat } from "../output/template.js";
import { defineCommand, type CommandContext } from "./command-context.js";

/** docker stats redraws once a second; samples arrive about once a second per container. */
const redrawEveryMs = 1000;

export function defineStats(program: Command, context: CommandContext): void {
  defineCommand(program, "stats", "Show containers' CPU, memory, network and disk use, live (every running container when none is named)")
    .argument("[CONTAINER...]", "names or ids; none means every running container, also those that start later")
    .option("--no-stream", "print one sample of each container and exit")
    .option("--format <format>", "table, table TEMPLATE, json, or a template such as '{{.Name}}: {{.CPUPerc}}'")
    .option("--no-trunc", "print full container ids")
    .action(async (containers: string[], flags: { stream: boolean; format?: string; trunc: boolean }, self: Command) => {
      const format = parseFormat(flags.format, defaultStatsTable);
      if (format.kind !== "json") compileTemplate(format.template).render(statsHeaders);
      const rows = new Map<string, StatsRow>();
      const draw = async () => {
        const lines = formatRows(format, [...rows.values()], (row) => row, (row) => row, statsHeaders);
        // On a terminal the table is redrawn in place, as docker does: clear, home, print.
        const clear = flags.stream && context.io.stdout.isTTY ? "\x1b[2J\x1b[H" : "";
        await writeOut(context.io.stdout, `${clear}${lines.join("\n")}\n`);
      };
      let lastDraw = 0;
      // docker shows the (possibly empty) table at once, before the first samples.
      if (flags.stream) await draw();
      const samples = context.client(self).streamDockerContainerStats({ containers, oneShot: !flags.stream });
      for await (const message of samples) {
        if (message.update.case === "stats") {
          rows.set(message.containerId, statsRow(message.containerId, message.containerName, message.update.value, !flags.trunc));
        } else if (message.update.case === "left") rows.delete(message.containerId);
        if (flags.stream && Date.now() - lastDraw >= redrawEveryMs) {
          lastDraw = Date.now();
          await draw();
        }
      }
      await draw();
    });
}
