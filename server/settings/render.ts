import { declaration } from "./declaration.js";
import { groups, variablesOf, type Variable } from "./setting.js";

/** --help and the README's configuration table, both written from the declaration. */

const variables = variablesOf(declaration);

function inGroups<T>(render: (group: string, members: Variable<unknown>[]) => T): T[] {
  return groups.map((group) => render(group, variables.filter((variable) => variable.group === group)));
}

/** What `server/main.ts --help` prints: one block per variable, in plain text. */
export function renderHelp(width = 80): string {
  const plain = (text: string) => text.replaceAll("`", "");
  const blocks = inGroups(
    (group, members) =>
      `${group}:\n` +
      members
        .map((variable) => {
          const text = `${plain(variable.description)} Default: ${plain(variable.shownDefault)}.`;
          return `  ${variable.name}\n${wrap(text, width - 6).map((line) => `      ${line}\n`).join("")}`;
        })
        .join(""),
  );
  return `Osiris reads its settings from the environment. A bad value stops it at start
with a message naming the setting.

${blocks.join("\n")}`;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

export const readmeTableStart =
  "<!-- settings:begin; written from server/settings/declaration.ts by `npm run settings:readme`, edit there -->";
export const readmeTableEnd = "<!-- settings:end -->";

/** The README's tables, one per group, markdown. */
export function renderReadmeTable(): string {
  const cell = (text: string) => text.replaceAll("|", "\\|");
  const tables = inGroups(
    (group, members) =>
      `**${group}**\n\n| Variable | Default | Meaning |\n|---|---|---|\n` +
      members.map((variable) => `| \`${variable.name}\` | ${cell(variable.shownDefault)} | ${cell(variable.description)} |\n`).join(""),
  );
  return tables.join("\n");
}

/** The README with its configuration table rewritten between the markers; throws when a marker is missing. */
export function withReadmeTable(readme: string): string {
  const start = readme.indexOf(readmeTableStart);
  const end = readme.indexOf(readmeTableEnd);
  if (start === -1 || end < start) {
    throw new Error(`README.md needs the markers ${readmeTableStart} and ${readmeTableEnd} around the configuration table`);
  }
  return `${readme.slice(0, start + readmeTableStart.length)}\n${renderReadmeTable()}${readme.slice(end)}`;
}
