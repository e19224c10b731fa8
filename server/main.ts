import { buildApp } from "./app.js";
import { ConfigError, loadConfig, settingsHelp } from "./config.js";
import { AbandonedRunSweep } from "./containers/abandoned-run-sweep.js";
import { connectEngine } from "./containers/engine.js";
import { newInstanceId } from "./containers/labels.js";

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
const instanceId = newInstanceId();
const app = await buildApp(config, { engine, instanceId });
app.log.info({ instance: instanceId }, "containers this process creates carry the label io.osiris.instance with this id");

try {
  await engine.docker.ping();
  app.log.info({ engine: engine.endpoint }, "Docker engine answers");
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

// Clears what a killed process (this one's predecessor, or another replica) left half-done.
const sweep = new AbandonedRunSweep(engine, app.log, config.abandonedRuns);
app.addHook("onClose", () => sweep.stop());

const { host, port } = config.listen;
await app.listen({ host, port });
sweep.start();

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
