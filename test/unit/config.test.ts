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
