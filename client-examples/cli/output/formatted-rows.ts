import { padColumns } from "./columns.js";
import { compileTemplate, type OutputFormat } from "./template.js";

/**
 * The lines a listing prints for `--format`: a padded table with docker's
 * headers, one line per item from a template, or one JSON object per line.
 */
export function formatRows<T>(
  format: OutputFormat,
  items: T[],
  templateData: (item: T) => unknown,
  json: (item: T) => unknown,
  headers: unknown,
): string[] {
  if (format.kind === "json") return items.map((item) => JSON.stringify(json(item)));
  const template = compileTemplate(format.template);
  const lines = items.map((item) => template.render(templateData(item)));
  if (format.kind === "template") return lines;
  return padColumns([template.render(headers), ...lines]);
}
