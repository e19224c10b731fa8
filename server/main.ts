import { buildApp } from "./app.js";
import { ConfigError, loadConfig, settingsHelp } from "./config.js";
import { ContainerService } from "./containers/container-service.js";
import { connectEngine } from "./containers/engine.js";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  process.stdout.write(settingsHelp);
  process.exit(0);
}

let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`osiris: bad configuration: ${error.message}\n`);
  process.exit(2);
}

const engine = connectEngine(config.engineEndpoint);
const app = await buildApp(config, { engine });

try {
  await engine.docker.ping();
  app.log.info({ engine: engine.endpoint }, "Docker engine answers");
  // Before serving, clear what a previous process left half-done when it was killed mid-run.
  await new ContainerService(engine, app.log).removeAbandonedRuns();
} catch {
  // Serving anyway lets clients get a precise UNAVAILABLE instead of a refused connection.
  app.log.warn(
    { engine: engine.endpoint },
    `Docker engine unreachable at ${engine.endpoint}; serving, and answering UNAVAILABLE until it is back`,
  );
}

if (!config.tokens) {
  const exposure = config.allowInsecureRemote ? "OSIRIS_ALLOW_INSECURE_REMOTE=1 is set" : "listening on loopback only";
  app.log.warn(
    `AUTHENTICATION IS OFF (no OSIRIS_TOKENS_FILE): anyone who can reach ${config.listen.host}:${config.listen.port} controls the Docker engine, which is root on this host; ${exposure}`,
  );
}

const { host, port } = config.listen;
await app.listen({ host, port });

let closing = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, "shutting down");
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, "error while shutting down");
        process.exit(1);
      },
    );
  });
}
