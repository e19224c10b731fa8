// Builds the dashboard into dist/ui/, which Osiris serves at /ui/:
// `npm run build:ui`. One bundled script and one stylesheet, nothing fetched
// from the internet at run time.
import { copyFile, mkdir, rename } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { defaultDashboardDirectory } from "../../server/dashboard-assets.js";

const here = fileURLToPath(new URL(".", import.meta.url));

export async function buildDashboard(outputDirectory = defaultDashboardDirectory): Promise<void> {
  await mkdir(outputDirectory, { recursive: true });
  await build({
    entryPoints: [`${here}src/main.ts`],
    outfile: `${outputDirectory}/app.js`,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: "linked",
    legalComments: "linked",
    logLevel: "warning",
  });
  await copyFile(`${here}styles.css`, `${outputDirectory}/app.css`);
  // index.html last, and by rename: its presence (and age) says a whole build is there.
  await copyFile(`${here}index.html`, `${outputDirectory}/index.html.tmp`);
  await rename(`${outputDirectory}/index.html.tmp`, `${outputDirectory}/index.html`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  await buildDashboard();
  console.log(`dashboard built into ${defaultDashboardDirectory} in ${Date.now() - started} ms`);
}
