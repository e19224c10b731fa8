import { readFileSync } from "node:fs";
import { parseTokenList, TokenListError, type TokenEntry } from "../security/tokens.js";
import { ConfigError } from "./setting.js";

/** Settings that name files with secrets in them, or carry the secret inline; read once the variables are known. */

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  /** OSIRIS_TLS_CLIENT_CA: when set, clients must present a certificate it signed (mutual TLS). */
  clientCa?: Buffer;
}

export function tlsFiles(paths: { cert?: string; key?: string; clientCa?: string }): TlsFiles | undefined {
  const { cert, key, clientCa } = paths;
  if (clientCa && !cert) {
    throw new ConfigError("OSIRIS_TLS_CLIENT_CA", "needs OSIRIS_TLS_CERT and OSIRIS_TLS_KEY: mutual TLS is TLS first");
  }
  if (Boolean(cert) !== Boolean(key)) {
    throw new ConfigError(cert ? "OSIRIS_TLS_KEY" : "OSIRIS_TLS_CERT", "set both OSIRIS_TLS_CERT and OSIRIS_TLS_KEY, or neither");
  }
  if (!cert || !key) return undefined;
  return {
    cert: readFile("OSIRIS_TLS_CERT", cert),
    key: readFile("OSIRIS_TLS_KEY", key),
    clientCa: clientCa ? readFile("OSIRIS_TLS_CLIENT_CA", clientCa) : undefined,
  };
}

export function tokenList(sources: { file?: string; inline?: string }): TokenEntry[] | undefined {
  const [setting, json] = sources.file
    ? ["OSIRIS_TOKENS_FILE", readFile("OSIRIS_TOKENS_FILE", sources.file).toString("utf8")]
    : ["OSIRIS_TOKENS", sources.inline];
  if (json === undefined || json === "") return undefined;
  try {
    const tokens = parseTokenList(json);
    if (tokens.length === 0) throw new TokenListError("holds no tokens");
    return tokens;
  } catch (error) {
    if (error instanceof TokenListError) throw new ConfigError(setting, error.message);
    throw error;
  }
}

/** Short keys would let someone who reads the engine's labels guess the key, then the env values. */
const minDigestKeyLength = 32;

export function requestDigestKey(sources: { file?: string; inline?: string }): Buffer | undefined {
  const [setting, key] = sources.file
    ? ["OSIRIS_REQUEST_DIGEST_KEY_FILE", readFile("OSIRIS_REQUEST_DIGEST_KEY_FILE", sources.file).toString("utf8").trim()]
    : ["OSIRIS_REQUEST_DIGEST_KEY", sources.inline?.trim()];
  if (key === undefined || key === "") {
    if (setting === "OSIRIS_REQUEST_DIGEST_KEY_FILE") throw new ConfigError(setting, "the file is empty");
    return undefined;
  }
  if (key.length < minDigestKeyLength) {
    throw new ConfigError(setting, `the key has ${key.length} characters; use at least ${minDigestKeyLength}, e.g. from \`openssl rand -hex 32\``);
  }
  return Buffer.from(key, "utf8");
}

function readFile(setting: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(setting, `cannot read ${path}: ${(error as Error).message}`);
  }
}
