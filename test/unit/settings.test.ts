import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError, loadConfig, settingsHelp, type Config } from "../../server/config.js";
import { declaration } from "../../server/settings/declaration.js";
import { readmeTableEnd, readmeTableStart, withReadmeTable } from "../../server/settings/render.js";
import { variablesOf } from "../../server/settings/setting.js";

const declared = variablesOf(declaration);
const folder = mkdtempSync(join(tmpdir(), "osiris-settings-"));
after(() => rmSync(folder, { recursive: true, force: true }));
const file = (name: string, content: string) => {
  const path = join(folder, name);
  writeFileSync(path, content);
  return path;
};

// Settings read PEM files as bytes; TLS parses them only when it starts.
const pemText = "-----BEGIN CERTIFICATE-----\nnot parsed here\n-----END CERTIFICATE-----\n";
const pem = file("any.pem", pemText);
const missing = join(folder, "missing");
const tokensJson = JSON.stringify([{ principal: "ops", role: "operator", token: "a-long-enough-token-value" }]);
const certificateTokens = JSON.stringify([{ principal: "ci", role: "viewer", clientCertificateCN: "ci" }]);
const digestKey = "k".repeat(40);

interface Example {
  /** Other variables this one needs. */
  context?: Record<string, string>;
  value: string;
  reads(config: Config): unknown;
  expected: unknown;
  /** A value refused with a ConfigError naming the variable; absent where every value means something. */
  invalid?: string;
}

/** One example per declared variable: a new setting fails the first test until it has one. */
const examples: Record<string, Example> = {
  OSIRIS_LISTEN: { value: "[::1]:9000", reads: (c) => c.listen, expected: { host: "::1", port: 9000 }, invalid: "8080" },
  DOCKER_HOST: { value: "tcp://127.0.0.1:2375", reads: (c) => c.engineEndpoint, expected: "tcp://127.0.0.1:2375", invalid: "ssh://box" },
  OSIRIS_LOG_LEVEL: { value: "debug", reads: (c) => c.logLevel, expected: "debug", invalid: "loud" },
  OSIRIS_SHUTDOWN_TIMEOUT_MS: { value: "2500", reads: (c) => c.shutdownTimeoutMs, expected: 2500, invalid: "soon" },
  OSIRIS_EVENT_RECONNECT_MS: { value: "500", reads: (c) => c.eventReconnectWindowMs, expected: 500, invalid: "0" },
  OSIRIS_CONTAINER_CACHE: { value: "off", reads: (c) => c.containerCache, expected: false, invalid: "yes" },
  OSIRIS_CACHE_RESYNC_MS: { value: "60000", reads: (c) => c.cacheResyncMs, expected: 60000, invalid: "-1" },
  OSIRIS_IDLE_TIMEOUT_MS: { value: "1500", reads: (c) => c.idleTimeoutMs, expected: 1500, invalid: "0" },
  OSIRIS_TLS_CERT: {
    context: { OSIRIS_TLS_KEY: pem },
    value: pem,
    reads: (c) => c.tls?.cert.toString(),
    expected: pemText,
    invalid: missing,
  },
  OSIRIS_TLS_KEY: { context: { OSIRIS_TLS_CERT: pem }, value: pem, reads: (c) => c.tls?.key.toString(), expected: pemText, invalid: missing },
  OSIRIS_TLS_CLIENT_CA: {
    context: { OSIRIS_TLS_CERT: pem, OSIRIS_TLS_KEY: pem, OSIRIS_TOKENS: certificateTokens },
    value: pem,
    reads: (c) => c.tls?.clientCa?.toString(),
    expected: pemText,
    invalid: missing,
  },
  OSIRIS_TOKENS_FILE: {
    value: file("tokens.json", tokensJson),
    reads: (c) => c.tokens?.map((entry) => entry.principal),
    expected: ["ops"],
    invalid: missing,
  },
  OSIRIS_TOKENS: { value: tokensJson, reads: (c) => c.tokens?.map((entry) => entry.principal), expected: ["ops"], invalid: "not json" },
  OSIRIS_ALLOW_INSECURE_REMOTE: { value: "1", reads: (c) => c.allowInsecureRemote, expected: true },
  OSIRIS_SCOPE: { value: "all", reads: (c) => c.scope, expected: "all", invalid: "everything" },
  OSIRIS_UI: { value: "off", reads: (c) => c.ui, expected: false, invalid: "no" },
  OSIRIS_CORS_ORIGINS: {
    value: "http://127.0.0.1:8081, https://dashboard.example",
    reads: (c) => c.corsOrigins,
    expected: ["http://127.0.0.1:8081", "https://dashboard.example"],
    invalid: "http://ok.example/path",
  },
  OSIRIS_ALLOWED_HOSTS: { value: "Osiris.Internal.", reads: (c) => c.allowedHosts, expected: ["osiris.internal"], invalid: "osiris.example:8080" },
  OSIRIS_REQUEST_DIGEST_KEY_FILE: {
    value: file("digest.key", `${digestKey}\n`),
    reads: (c) => c.requestDigestKey?.toString(),
    expected: digestKey,
    invalid: missing,
  },
  OSIRIS_REQUEST_DIGEST_KEY: { value: digestKey, reads: (c) => c.requestDigestKey?.toString(), expected: digestKey, invalid: "too-short" },
  OSIRIS_BIND_MOUNT_ALLOWLIST: {
    value: "/srv/data, /opt",
    reads: (c) => c.runPolicy.bindMountAllowlist,
    expected: ["/srv/data", "/opt"],
    invalid: "srv/data",
  },
  OSIRIS_ALLOWED_IMAGES: { value: "127.0.0.1:5000/*", reads: (c) => c.runPolicy.allowedImages, expected: ["127.0.0.1:5000/*"] },
  OSIRIS_HOST_PORT_RANGE: {
    value: "8000-9000",
    reads: (c) => [c.runPolicy.hostPortMin, c.runPolicy.hostPortMax],
    expected: [8000, 9000],
    invalid: "2000-1000",
  },
  OSIRIS_DEFAULT_HOST_IP: { value: "0.0.0.0", reads: (c) => c.runPolicy.defaultHostIp, expected: "0.0.0.0", invalid: "localhost" },
  OSIRIS_MAX_MEMORY_BYTES: { value: "268435456", reads: (c) => c.runPolicy.maxMemoryBytes, expected: 268_435_456, invalid: "lots" },
  OSIRIS_MAX_CPU_MILLICORES: { value: "500", reads: (c) => c.runPolicy.maxNanoCpus, expected: 500_000_000, invalid: "-1" },
  OSIRIS_MAX_MANAGED_CONTAINERS: { value: "4", reads: (c) => c.runPolicy.maxManagedContainers, expected: 4, invalid: "0" },
  OSIRIS_MAX_PORTS_PER_RUN: { value: "2", reads: (c) => c.runPolicy.maxPortsPerRun, expected: 2, invalid: "1.5" },
  OSIRIS_MAX_PIDS_PER_CONTAINER: { value: "64", reads: (c) => c.runPolicy.maxPidsPerContainer, expected: 64, invalid: "-1" },
  OSIRIS_EXEC: { value: "off", reads: (c) => c.exec.enabled, expected: false, invalid: "no" },
  OSIRIS_EXEC_MAX_OUTPUT_BYTES: { value: "4096", reads: (c) => c.exec.defaultMaxOutputBytes, expected: 4096, invalid: String(16 * 1024 * 1024) },
  OSIRIS_READ_MAX_BYTES: { value: "1024", reads: (c) => c.readMaxBytes, expected: 1024, invalid: "-1" },
  OSIRIS_MAX_CONNECTIONS: { value: "50", reads: (c) => c.maxConnections, expected: 50, invalid: "many" },
  OSIRIS_RATE_LIMIT: { value: "10", reads: (c) => c.rateLimit, expected: { perSecond: 10, burst: 20 }, invalid: "fast" },
  OSIRIS_MAX_STREAMS_PER_PRINCIPAL: { value: "5", reads: (c) => c.maxStreamsPerPrincipal, expected: 5, invalid: "0" },
  OSIRIS_MAX_INFLIGHT_PER_PRINCIPAL: { value: "8", reads: (c) => c.maxInFlightPerPrincipal, expected: 8, invalid: "none" },
  OSIRIS_ABANDONED_RUN_AGE_MS: { value: "1000", reads: (c) => c.abandonedRuns.ageMs, expected: 1000, invalid: "0" },
  OSIRIS_ABANDONED_RUN_SWEEP_MS: { value: "2000", reads: (c) => c.abandonedRuns.intervalMs, expected: 2000, invalid: "0" },
};

/** These refused an empty value before the declaration existed, and still do; every other variable reads empty as unset. */
const refusingEmpty = ["OSIRIS_LISTEN", "OSIRIS_LOG_LEVEL", "OSIRIS_SCOPE", "OSIRIS_HOST_PORT_RANGE"];

const namesSetting = (setting: string) => (error: unknown) => error instanceof ConfigError && error.setting === setting;

describe("the settings declaration", () => {
  it("has an example in this test for every declared variable, and no example for an undeclared one", () => {
    assert.deepEqual(declared.map((variable) => variable.name).sort(), Object.keys(examples).sort());
  });

  it("is what README.md's configuration table says (run `npm run settings:readme` after changing it)", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const table = (text: string) => text.slice(text.indexOf(readmeTableStart), text.indexOf(readmeTableEnd));
    assert.equal(table(readme), table(withReadmeTable(readme)), "README.md is stale: run npm run settings:readme");
  });

  it("is what --help prints: every variable, its default and its description", () => {
    for (const variable of declared) {
      assert.ok(settingsHelp.includes(`\n  ${variable.name}\n`), `${variable.name} has a block of its own`);
      const lines = settingsHelp.split(`\n  ${variable.name}\n`)[1]?.split("\n") ?? [];
      const block = lines.slice(0, lines.findIndex((line) => !line.startsWith("      "))).join(" ").replace(/\s+/g, " ");
      assert.ok(block.includes(`Default: ${variable.shownDefault.replaceAll("`", "")}.`), `${variable.name} shows its default`);
    }
  });

  for (const [name, example] of Object.entries(examples)) {
    it(`reads ${name} into the config (${JSON.stringify(example.value).slice(0, 60)})`, () => {
      const config = loadConfig({ ...example.context, [name]: example.value });
      assert.deepEqual(example.reads(config), example.expected);
      assert.notDeepEqual(example.reads(loadConfig({})), example.expected, "the example is not the default");
    });
    const invalid = example.invalid;
    if (invalid !== undefined) {
      it(`refuses ${name}=${JSON.stringify(invalid).slice(0, 60)} with a ConfigError naming ${name}`, () => {
        assert.throws(() => loadConfig({ ...example.context, [name]: invalid }), namesSetting(name));
      });
    }
  }

  it("reads an empty variable as unset, except for the four that refuse it", () => {
    const defaults = loadConfig({});
    for (const { name } of declared) {
      if (refusingEmpty.includes(name)) {
        assert.throws(() => loadConfig({ [name]: "" }), namesSetting(name), name);
      } else {
        assert.deepEqual(loadConfig({ [name]: "" }), defaults, name);
      }
    }
  });
});
