import { readFileSync, writeFileSync } from "node:fs";
import { withReadmeTable } from "./render.js";

/** `npm run settings:readme`: rewrites README.md's configuration table from the declaration. */
const readmePath = new URL("../../README.md", import.meta.url);
const readme = readFileSync(readmePath, "utf8");
const updated = withReadmeTable(readme);
if (updated === readme) {
  process.stdout.write("README.md's configuration table is up to date\n");
} else {
  writeFileSync(readmePath, updated);
  process.stdout.write("README.md's configuration table rewritten from server/settings/declaration.ts\n");
}
