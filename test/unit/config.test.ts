import assert from "node:assert/strict";
import { describe, it } from "node:test";
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

  for (const [env, setting] of [
    [{ OSIRIS_LISTEN: "8080" }, "OSIRIS_LISTEN"],
    [{ OSIRIS_LISTEN: "host:99999" }, "OSIRIS_LISTEN"],
    [{ DOCKER_HOST: "ssh://box" }, "DOCKER_HOST"],
    [{ OSIRIS_LOG_LEVEL: "loud" }, "OSIRIS_LOG_LEVEL"],
    [{ OSIRIS_TLS_CERT: "/c.pem" }, "OSIRIS_TLS_KEY"],
    [{ OSIRIS_READ_MAX_BYTES: "-1" }, "OSIRIS_READ_MAX_BYTES"],
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
    [{ OSIRIS_TOKENS: "not json" }, "OSIRIS_TOKENS"],
    [{ OSIRIS_TOKENS: "[]" }, "OSIRIS_TOKENS"],
    [{ OSIRIS_TOKENS_FILE: "/nonexistent/tokens.json" }, "OSIRIS_TOKENS_FILE"],
    [{ OSIRIS_SCOPE: "everything" }, "OSIRIS_SCOPE"],
    [{ OSIRIS_HOST_PORT_RANGE: "2000-1000" }, "OSIRIS_HOST_PORT_RANGE"],
    [{ OSIRIS_MAX_MEMORY_BYTES: "lots" }, "OSIRIS_MAX_MEMORY_BYTES"],
    [{ OSIRIS_CORS_ORIGINS: "http://ok.example/path" }, "OSIRIS_CORS_ORIGINS"],
    [{ OSIRIS_TLS_CLIENT_CA: "/ca.pem" }, "OSIRIS_TLS_CLIENT_CA"],
    [{ OSIRIS_BIND_MOUNT_ALLOWLIST: "srv/data" }, "OSIRIS_BIND_MOUNT_ALLOWLIST"],
    [{ OSIRIS_MAX_STREAMS_PER_PRINCIPAL: "0" }, "OSIRIS_MAX_STREAMS_PER_PRINCIPAL"],
  ] as const) {
    it(`names ${setting} when it is wrong (${JSON.stringify(env)})`, () => {
      assert.throws(() => loadConfig(env), (error: unknown) => error instanceof ConfigError && error.setting === setting);
    });
  }
});
