import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { parseTokenList, principalForCertificate, principalForToken, TokenListError } from "../../server/security/tokens.js";

describe("bearer tokens", () => {
  const plain = "operator-token-0123456789";
  const hashedOnly = "viewer-token-abcdefghijkl";
  const tokens = parseTokenList(
    JSON.stringify([
      { principal: "ops", role: "operator", token: plain },
      { principal: "dash", role: "viewer", tokenSha256: createHash("sha256").update(hashedOnly).digest("hex") },
    ]),
  );

  it("finds the principal and role of a plaintext or a hashed token", () => {
    assert.deepEqual(principalForToken(tokens, plain), { name: "ops", role: "operator" });
    assert.deepEqual(principalForToken(tokens, hashedOnly), { name: "dash", role: "viewer" });
  });

  it("finds nobody for a wrong, truncated or extended token", () => {
    for (const wrong of ["", plain.slice(0, -1), `${plain}x`, plain.toUpperCase()]) {
      assert.equal(principalForToken(tokens, wrong), undefined);
    }
  });

  for (const [title, entries] of [
    ["an unknown role", [{ principal: "a", role: "admin", token: plain }]],
    ["a short token", [{ principal: "a", role: "viewer", token: "short" }]],
    ["both token and tokenSha256", [{ principal: "a", role: "viewer", token: plain, tokenSha256: "0".repeat(64) }]],
    ["a duplicate principal", [{ principal: "a", role: "viewer", token: plain }, { principal: "a", role: "operator", token: hashedOnly }]],
    ["a malformed hash", [{ principal: "a", role: "viewer", tokenSha256: "xyz" }]],
    ["an entry with neither token nor certificate CN", [{ principal: "a", role: "viewer" }]],
    ["an empty clientCertificateCN", [{ principal: "a", role: "viewer", clientCertificateCN: "" }]],
    [
      "one clientCertificateCN for two principals",
      [{ principal: "a", role: "viewer", clientCertificateCN: "bot" }, { principal: "b", role: "operator", clientCertificateCN: "bot" }],
    ],
  ] as const) {
    it(`refuses ${title}`, () => {
      assert.throws(() => parseTokenList(JSON.stringify(entries)), TokenListError);
    });
  }
});

describe("client certificate mappings", () => {
  const tokens = parseTokenList(
    JSON.stringify([
      { principal: "platform-bot", role: "viewer", clientCertificateCN: "platform-bot" },
      { principal: "deploy", role: "operator", clientCertificateCN: "deploy-bot.example", token: "deploy-token-0123456789" },
    ]),
  );

  it("maps a certificate CN to its entry's principal and role, never to operator by default", () => {
    assert.deepEqual(principalForCertificate(tokens, "platform-bot"), { name: "platform-bot", role: "viewer" });
    assert.deepEqual(principalForCertificate(tokens, "deploy-bot.example"), { name: "deploy", role: "operator" });
  });

  it("maps no principal for a CN no entry names, even one equal to a principal's name", () => {
    assert.equal(principalForCertificate(tokens, "deploy"), undefined);
    assert.equal(principalForCertificate(tokens, "PLATFORM-BOT"), undefined);
  });

  it("keeps tokens working beside certificate-only entries", () => {
    assert.deepEqual(principalForToken(tokens, "deploy-token-0123456789"), { name: "deploy", role: "operator" });
    assert.equal(principalForToken(tokens, "platform-bot"), undefined);
  });
});
