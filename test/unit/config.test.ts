import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfig, parseListenAddress } from "../../server/config.js";

describe("configuration", () => {
  it("defaults to loopback port 8080 and the local engine socket", () => {
    const config = loadConfig({});
    assert.deepEqual(config.listen, { host: "127.0.0.1", port: 8080 });
    assert.equal(config.engineEndpoint, "unix:///var/run/docker.sock");
  });

  it("parses IPv4, IPv6 and wildcard listen addresses", () => {
    assert.deepEqual(parseListenAddress("[::1]:9000"), { host: "::1", port: 9000 });
    assert.deepEqual(parseListenAddress(":9000"), { host: "0.0.0.0", port: 9000 });
  });

  // One bad value per variable is in settings.test.ts; these are other shapes and settings that go together.
  for (const [env, setting] of [
    [{ OSIRIS_LISTEN: "host:99999" }, "OSIRIS_LISTEN"],
    [{ OSIRIS_LISTEN: "[127.0.0.1]:8080" }, "OSIRIS_LISTEN"],
    [{ OSIRIS_TLS_CERT: "/c.pem" }, "OSIRIS_TLS_KEY"],
    [{ OSIRIS_TLS_KEY: "/k.pem" }, "OSIRIS_TLS_CERT"],
  ] as const) {
    it(`names ${setting} when it is wrong (${JSON.stringify(env)})`, () => {
      assert.throws(() => loadConfig(env), (error: unknown) => error instanceof ConfigError && error.setting === setting);
    });
  }
});

describe("security configuration", () => {
  const tokens = JSON.stringify([{ principal: "ops", role: "operator", token: "a-long-enough-token-value" }]);

  it("refuses to listen beyond loopback without tokens, naming OSIRIS_LISTEN", () => {
    assert.throws(
      () => loadConfig({ OSIRIS_LISTEN: "0.0.0.0:8080" }),
      (error: unknown) => error instanceof ConfigError && error.setting === "OSIRIS_LISTEN" && /OSIRIS_ALLOW_INSECURE_REMOTE/.test(error.message),
    );
  });

  it("listens beyond loopback with tokens, or with the explicit opt-in", () => {
    assert.equal(loadConfig({ OSIRIS_LISTEN: "0.0.0.0:8080", OSIRIS_TOKENS: tokens }).tokens?.length, 1);
    assert.equal(loadConfig({ OSIRIS_LISTEN: "0.0.0.0:8080", OSIRIS_ALLOW_INSECURE_REMOTE: "1" }).allowInsecureRemote, true);
  });

  it("accepts [::1] and 127.x as loopback", () => {
    assert.doesNotThrow(() => loadConfig({ OSIRIS_LISTEN: "[::1]:8080" }));
    assert.doesNotThrow(() => loadConfig({ OSIRIS_LISTEN: "127.0.0.2:8080" }));
  });

  it("defaults to managed-only scope and no privileged host ports", () => {
    const config = loadConfig({});
    assert.equal(config.scope, "managed");
    assert.equal(config.runPolicy.hostPortMin, 1024);
  });

  for (const [env, setting] of [
    [{ OSIRIS_TOKENS: "[]" }, "OSIRIS_TOKENS"],
    [{ OSIRIS_TOKENS_FILE: "/nonexistent/tokens.json", OSIRIS_TOKENS: tokens }, "OSIRIS_TOKENS_FILE"],
    [{ OSIRIS_HOST_PORT_RANGE: "0-80" }, "OSIRIS_HOST_PORT_RANGE"],
    [{ OSIRIS_TLS_CLIENT_CA: "/ca.pem" }, "OSIRIS_TLS_CLIENT_CA"],
    [{ OSIRIS_ALLOWED_HOSTS: "https://osiris.example" }, "OSIRIS_ALLOWED_HOSTS"],
    [
      { OSIRIS_TOKENS: JSON.stringify([{ principal: "bot", role: "viewer", clientCertificateCN: "bot" }]) },
      "OSIRIS_TOKENS_FILE",
    ],
  ] as const) {
    it(`names ${setting} when it is wrong (${JSON.stringify(env)})`, () => {
      assert.throws(() => loadConfig(env), (error: unknown) => error instanceof ConfigError && error.setting === setting);
    });
  }
});

describe("front door configuration", () => {
  it("reads allowed host names in lowercase, without a trailing dot", () => {
    assert.deepEqual(loadConfig({ OSIRIS_ALLOWED_HOSTS: "Osiris.Internal., ops-1.example" }).allowedHosts, ["osiris.internal", "ops-1.example"]);
    assert.deepEqual(loadConfig({}).allowedHosts, []);
  });

  it("defaults to a one-minute idle timeout and a connection cap below the open-file limit", () => {
    const config = loadConfig({});
    assert.equal(config.idleTimeoutMs, 60_000);
    assert.ok(config.maxConnections >= 64 && config.maxConnections <= 10_000, String(config.maxConnections));
    assert.equal(loadConfig({ OSIRIS_MAX_CONNECTIONS: "50", OSIRIS_IDLE_TIMEOUT_MS: "1500" }).maxConnections, 50);
  });

  it("refuses mutual TLS without a tokens file, since certificates get roles only from its entries", () => {
    const pem = fileURLToPath(import.meta.url);
    assert.throws(
      () => loadConfig({ OSIRIS_TLS_CERT: pem, OSIRIS_TLS_KEY: pem, OSIRIS_TLS_CLIENT_CA: pem }),
      (error: unknown) => error instanceof ConfigError && error.setting === "OSIRIS_TLS_CLIENT_CA" && /clientCertificateCN/.test(error.message),
    );
    const tokens = JSON.stringify([{ principal: "bot", role: "viewer", clientCertificateCN: "bot" }]);
    const config = loadConfig({ OSIRIS_TLS_CERT: pem, OSIRIS_TLS_KEY: pem, OSIRIS_TLS_CLIENT_CA: pem, OSIRIS_TOKENS: tokens });
    assert.equal(config.tokens?.[0]?.clientCertificateCN, "bot");
  });
});
