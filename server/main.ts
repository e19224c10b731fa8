import { buildApp } from "./app.js";
import { ConfigError, loadConfig, settingsHelp } from "./config.js";
import { connectEngine } from "./containers/engine/dockerode-engine-client.js";
import { newInstanceId } from "./containers/grammar/labels.js";
import { invisibleAllowlistFolders } from "./containers/policy/bind-mounts.js";

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
// The app sweeps away what a killed process (this one's predecessor, or another replica) left half-done.
const app = await buildApp(config, { engine, instanceId, abandonedRunSweep: config.abandonedRuns });
app.log.info({ instance: instanceId }, "containers this process creates carry the label io.osiris.instance with this id");

try {
  await engine.ping();
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

for (const folder of await invisibleAllowlistFolders(config.runPolicy.bindMountAllowlist)) {
  app.log.warn(
    { folder },
    `OSIRIS_BIND_MOUNT_ALLOWLIST folder ${JSON.stringify(folder)} does not exist for Osiris; every bind under it is refused. Allowlist folders must be visible to Osiris at the same path as on the engine's host`,
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
