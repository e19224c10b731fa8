# Osiris as an image. Build:   docker build -t osiris .
# Run (the engine socket mounted, its group added so the non-root user may use it):
#   docker run -d -p 8080:8080 -v /var/run/docker.sock:/var/run/docker.sock \
#     --group-add "$(stat -c %g /var/run/docker.sock)" \
#     -e OSIRIS_TOKENS_FILE=/run/secrets/osiris-tokens.json ... osiris
# Listening on 0.0.0.0 needs tokens (or mutual TLS, or OSIRIS_ALLOW_INSECURE_REMOTE=1).

# The base must provide node and npm; tests pass a locally built one, as there
# is no registry to pull from there.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
COPY . .
# Offline when the context already holds node_modules; from the registry otherwise.
RUN if [ -d node_modules ]; then npm prune --omit=dev --no-audit --no-fund; \
    else npm ci --omit=dev --no-audit --no-fund; fi

FROM ${NODE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production \
    OSIRIS_LISTEN=0.0.0.0:8080
COPY --from=dependencies /app/package.json ./package.json
COPY --from=dependencies /app/node_modules ./node_modules
COPY --from=dependencies /app/gen ./gen
COPY --from=dependencies /app/server ./server
# Not root: the engine socket is reached through its group (--group-add above).
USER 1000:1000
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--import", "tsx", "server/main.ts"]
