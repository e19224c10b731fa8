import fastifyCors from "@fastify/cors";
import { cors as connectCors } from "@connectrpc/connect";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { isDashboardAssetRequest } from "./dashboard-assets.js";
import { sendConnectError } from "./rpc/error-mapping.js";
import { refusal } from "./rpc/errors.js";

/**
 * Browsers may call Osiris only from configured origins. Docker warns that a
 * local API can be driven by any web page a user visits; a request carrying an
 * Origin that is not on the list is refused outright, not merely left without
 * CORS headers, so a "simple" cross-site POST cannot reach a handler either.
 * Clients that are not browsers send no Origin and are unaffected.
 *
 * The read-only RPCs also answer GET, and a browser sends no Origin on a GET
 * another page makes without CORS (an <img>, a <script>): such a request is
 * known by the Sec-Fetch-Site header browsers add to every request, and is
 * refused too. The page could not read the answer, but it could still make
 * calls, for example hold WaitDockerContainer slots.
 */
export async function registerBrowserOrigins(app: FastifyInstance, allowedOrigins: readonly string[]): Promise<void> {
  const allowed = new Set(allowedOrigins);
  app.addHook("onRequest", async (request, reply) => {
    // The dashboard's files carry no data: a link to /ui/ from another site may open it.
    if (isDashboardAssetRequest(request)) return;
    const origin = request.headers.origin;
    if (origin === undefined) {
      const site = request.headers["sec-fetch-site"];
      if (site !== "cross-site" && site !== "same-site") return;
      await sendConnectError(
        request,
        reply,
        refusal("origin-not-allowed", `A browser request from another site must send its Origin (Sec-Fetch-Site: ${site}); call with fetch() from a page in OSIRIS_CORS_ORIGINS`),
      );
      return;
    }
    if (allowed.has(origin) || isSameOrigin(request, origin)) return;
    await sendConnectError(request, reply, refusal("origin-not-allowed", `Origin not allowed: ${JSON.stringify(origin)}; see OSIRIS_CORS_ORIGINS`));
  });
  if (allowed.size === 0) return;
  await app.register(fastifyCors, {
    origin: [...allowed],
    methods: [...connectCors.allowedMethods],
    allowedHeaders: [...connectCors.allowedHeaders, "Authorization", "X-Request-Id"],
    exposedHeaders: [...connectCors.exposedHeaders, "X-Request-Id"],
    // Preflight results may be cached for two hours, the most Chromium honours.
    maxAge: 7200,
  });
}

/**
 * A call from a page this server served (the dashboard at /ui/): browsers send
 * Origin on every POST, same-origin ones too. The browser vouches for it with
 * Sec-Fetch-Site, which no page can set, and the Origin names the host the
 * request was sent to; that host passed the host check (against DNS rebinding).
 */
function isSameOrigin(request: FastifyRequest, origin: string): boolean {
  if (request.headers["sec-fetch-site"] !== "same-origin") return false;
  const host = request.headers.host ?? request.headers[":authority"];
  try {
    return typeof host === "string" && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
