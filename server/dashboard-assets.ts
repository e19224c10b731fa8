import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { readFile, realpath, stat } from "node:fs/promises";
import { extname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** Where `npm run build:ui` writes the dashboard (client-examples/dashboard/build.ts). */
export const defaultDashboardDirectory = fileURLToPath(new URL("../dist/ui/", import.meta.url));

/** The path the dashboard is served under. */
export const dashboardPath = "/ui/";

/**
 * The page loads only what this server serves and talks only to it: no CDN,
 * no inline script or style (the bundle sets styles through the CSSOM, which
 * CSP allows), no framing (against clickjacking of the action buttons).
 */
const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const securityHeaders = {
  "content-security-policy": contentSecurityPolicy,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  // The bundle is rebuilt in place under the same names; browsers revalidate rather than run a stale one.
  "cache-control": "no-cache",
} as const;

const contentTypes: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * A relative asset path the dashboard can have: segments of letters, digits,
 * `_`, `-` and `.`, none starting with a dot. That rules out `..`, hidden
 * files, backslashes, NUL and every encoded form of them (Fastify hands the
 * route the decoded path), before the file system is asked anything.
 */
const assetPathPattern = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*(?:\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$/;

/** Whether a request is for the dashboard's files, which carry no data and need no credentials. */
export function isDashboardAssetRequest(request: FastifyRequest): boolean {
  return (request.method === "GET" || request.method === "HEAD") && (request.url === "/ui" || request.url.startsWith(dashboardPath));
}

/**
 * Serves the dashboard's built files at /ui/. They are static and public (the
 * page asks for a token itself when the server wants one); every RPC the page
 * makes is checked as any other client's.
 */
export function registerDashboardAssets(app: FastifyInstance, directory: string = defaultDashboardDirectory): void {
  const root = resolve(directory);
  app.get("/ui", async (_request, reply) => reply.code(308).header("location", dashboardPath).send());
  app.get(dashboardPath, async (_request, reply) => sendAsset(reply, root, "index.html"));
  app.get(`${dashboardPath}*`, async (request, reply) => {
    const relative = (request.params as { "*"?: string })["*"] ?? "";
    return sendAsset(reply, root, relative === "" ? "index.html" : relative);
  });
}

async function sendAsset(reply: FastifyReply, root: string, relative: string): Promise<FastifyReply> {
  reply.headers(securityHeaders);
  if (!assetPathPattern.test(relative)) return notFound(reply);
  const file = await containedFile(root, relative);
  if (file === undefined) return relative === "index.html" ? buildMissing(reply, root) : notFound(reply);
  const body = await readFile(file);
  return reply.type(contentTypes[extname(file).toLowerCase()] ?? "application/octet-stream").send(body);
}

/** The real path of a regular file inside root, or undefined; a symlink leading out of root counts as missing. */
async function containedFile(root: string, relative: string): Promise<string | undefined> {
  try {
    const realRoot = await realpath(root);
    const file = await realpath(resolve(realRoot, relative));
    if (!file.startsWith(realRoot + sep)) return undefined;
    return (await stat(file)).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

function notFound(reply: FastifyReply): FastifyReply {
  return reply.code(404).type("text/plain; charset=utf-8").send("Not found\n");
}

/** The server runs from a checkout where the dashboard was never built: say how to build it. */
function buildMissing(reply: FastifyReply, root: string): FastifyReply {
  const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Osiris dashboard not built</title></head>
<body><h1>The Osiris dashboard is not built</h1>
<p>No <code>index.html</code> in <code>${escapeHtml(root)}</code>. Run <code>npm run build:ui</code> in the Osiris checkout
(<code>npm run serve</code> does it for you) and reload this page.</p>
<p>The API itself is serving; set <code>OSIRIS_UI=off</code> to stop serving this page.</p></body></html>
`;
  return reply.code(503).type("text/html; charset=utf-8").send(page);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
