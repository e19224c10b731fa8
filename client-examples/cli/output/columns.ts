/**
 * Lays out tab-separated cells as docker's table output does: docker writes
 * tables through Go's text/tabwriter (minwidth 10, padding 3, no borders), so
 * every cell but the last of a line is padded to max(10, widest + 3). A
 * table library would draw borders or align differently, and scripts that cut
 * `docker ps` columns by position expect exactly this, so it is done here in a
 * few lines.
 */
export function padColumns(lines: string[], minWidth = 10, padding = 3): string[] {
  const rows = lines.map((line) => line.split("\t"));
  const widths: number[] = [];
  for (const cells of rows) {
    cells.slice(0, -1).forEach((cell, column) => {
      widths[column] = Math.max(widths[column] ?? minWidth, textWidth(cell) + padding);
    });
  }
  return rows.map((cells) =>
    cells.map((cell, column) => (column === cells.length - 1 ? cell : cell + " ".repeat(widths[column]! - textWidth(cell)))).join(""),
  );
}

/** Width in characters (code points), as tabwriter counts UTF-8 runes. */
function textWidth(text: string): number {
  return [...text].length;
}
