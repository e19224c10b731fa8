import fastifyCors from "@fastify/cors";
import { cors as connectCors } from "@connectrpc/connect";
import type { FastifyInstance } from "fastify";

/**
 * Browsers may call Osiris only from configured origins. Docker warns that a
 * local API can be driven by any web page a user visits; a request carrying an
 * Origin that is not on the list is refused outright, not merely left without
 * CORS headers, so a "simple" cross-site POST cannot reach a handler either.
 * Clients that are not browsers send no Origin and are unaffected.
 */
export async function registerBrowserOrigins(app: FastifyInstance, allowedOrigins: readonly string[]): Promise<void> {
  const allowed = new Set(allowedOrigins);
  app.addHook("onRequest", async (request, reply) => {
    const origin = request.headers.origin;
    if (origin === undefined || allowed.has(origin)) return;
    await reply
      .code(403)
      .header("content-type", "application/json")
      .send({ code: "permission_denied", message: `Origin not allowed: ${JSON.stringify(origin)}; see OSIRIS_CORS_ORIGINS` });
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
