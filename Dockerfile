# Osiris as an image. Build:   docker build -t osiris .
# Run (the engine socket mounted, its group added so the non-root user may use it):
#   docker run -d -p 8080:8080 -v /var/run/docker.sock:/var/run/docker.sock \
#     --group-add "$(stat -c %g /var/run/docker.sock)" \
#     -e OSIRIS_TOKENS_FILE=/run/secrets/osiris-tokens.json ... osiris
# Listening on 0.0.0.0 needs tokens (or mutual TLS, or OSIRIS_ALLOW_INSECURE_REMOTE=1).

# The runtime: the Node major the project is tested on (package.json "engines",
# and the `node` devDependency that npm scripts run).
ARG NODE_IMAGE=node:24-bookworm-slim
# Where `npm ci` runs. The same image by default, reaching the npm registry; a
# build without a registry names an image whose npm cache already holds the
# production dependencies (the tests build one: test/support/environment.sh).
ARG BUILD_IMAGE=${NODE_IMAGE}

FROM ${BUILD_IMAGE} AS dependencies
WORKDIR /app
# Only the manifests, so this layer is reused until the dependencies change.
COPY package.json package-lock.json ./
# --ignore-scripts: the only install scripts among production dependencies build
# optional native speed-ups of ssh2 (unused: Osiris reaches the engine over its
# socket) and check esbuild's binary, which comes in its platform package anyway.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production \
    OSIRIS_LISTEN=0.0.0.0:8080
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY gen ./gen
COPY server ./server
# Not root: the engine socket is reached through its group (--group-add above).
USER 1000:1000
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--import", "tsx", "server/main.ts"]
