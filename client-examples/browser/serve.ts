// Serves the dashboard on 127.0.0.1:8081 (or --port). Start Osiris with
// OSIRIS_CORS_ORIGINS=http://127.0.0.1:8081 so the browser may call it.
import { readFile } from "node:fs/promises";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));

/** The dashboard as one ES module a browser can load. */
export async function bundleDashboard(): Promise<string> {
  const result = await build({
    entryPoints: [`${here}dashboard.ts`],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { port: { type: "string", default: "8081" } } });
  const script = await bundleDashboard();
  const page = await readFile(`${here}index.html`, "utf8");
  http
    .createServer((request, response) => {
      if (request.url?.startsWith("/dashboard.js")) {
        response.writeHead(200, { "content-type": "text/javascript" }).end(script);
      } else {
        response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
      }
    })
    .listen(Number(values.port), "127.0.0.1", () => {
      console.log(`dashboard on http://127.0.0.1:${values.port}/`);
      console.log(`start Osiris with OSIRIS_CORS_ORIGINS=http://127.0.0.1:${values.port}`);
    });
}
