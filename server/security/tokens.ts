import { createHash, timingSafeEqual } from "node:crypto";

export type Role = "viewer" | "operator";

export interface TokenEntry {
  principal: string;
  role: Role;
  /** SHA-256 of the token; plaintext tokens are hashed on load and not kept. Unset for a certificate-only entry. */
  sha256?: Buffer;
  /** The subject CN of client certificates (mutual TLS) that authenticate as this principal. */
  clientCertificateCN?: string;
}

export interface Principal {
  name: string;
  role: Role;
}

/** Why a tokens file or variable was refused; the config layer names the setting. */
export class TokenListError extends Error {}

/**
 * Parses `[{"principal": "...", "role": "viewer"|"operator", "token" | "tokenSha256": "...", "clientCertificateCN": "..."}]`.
 * An entry needs a token, a certificate CN, or both; each CN maps to one entry only.
 */
export function parseTokenList(json: string): TokenEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new TokenListError(`not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new TokenListError("must be a JSON array of token entries");
  const principals = new Set<string>();
  const commonNames = new Set<string>();
  return parsed.map((entry: unknown, index) => {
    const where = `entry ${index}`;
    if (typeof entry !== "object" || entry === null) throw new TokenListError(`${where} is not an object`);
    const { principal, role, token, tokenSha256, clientCertificateCN } = entry as Record<string, unknown>;
    if (typeof principal !== "string" || principal === "") throw new TokenListError(`${where}: "principal" must be a non-empty string`);
    if (principals.has(principal)) throw new TokenListError(`${where}: principal ${JSON.stringify(principal)} appears twice`);
    principals.add(principal);
    if (role !== "viewer" && role !== "operator") throw new TokenListError(`${where}: "role" must be "viewer" or "operator"`);
    if (clientCertificateCN !== undefined) {
      if (typeof clientCertificateCN !== "string" || clientCertificateCN === "") {
        throw new TokenListError(`${where}: "clientCertificateCN" must be a non-empty string`);
      }
      if (commonNames.has(clientCertificateCN)) {
        throw new TokenListError(`${where}: clientCertificateCN ${JSON.stringify(clientCertificateCN)} appears twice; one certificate, one role`);
      }
      commonNames.add(clientCertificateCN);
    }
    let sha256: Buffer | undefined;
    if (typeof token === "string" && tokenSha256 === undefined) {
      if (token.length < 16) throw new TokenListError(`${where}: "token" must be at least 16 characters`);
      sha256 = sha256Of(token);
    } else if (typeof tokenSha256 === "string" && token === undefined && /^[0-9a-f]{64}$/i.test(tokenSha256)) {
      sha256 = Buffer.from(tokenSha256, "hex");
    } else if (token !== undefined || tokenSha256 !== undefined || clientCertificateCN === undefined) {
      throw new TokenListError(`${where}: give exactly one of "token" or "tokenSha256" (64 hex digits), or a "clientCertificateCN"`);
    }
    return { principal, role, ...(sha256 ? { sha256 } : {}), ...(clientCertificateCN !== undefined ? { clientCertificateCN } : {}) };
  });
}

function sha256Of(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * Finds who a bearer token belongs to. Hashing first gives fixed-length
 * inputs, and every entry is compared, so timing says nothing about which
 * entry, or how much of one, matched.
 */
export function principalForToken(tokens: readonly TokenEntry[], presented: string): Principal | undefined {
  const digest = sha256Of(presented);
  let found: TokenEntry | undefined;
  for (const entry of tokens) {
    if (entry.sha256 && timingSafeEqual(entry.sha256, digest) && found === undefined) found = entry;
  }
  return found ? { name: found.principal, role: found.role } : undefined;
}

/** Finds who a verified client certificate belongs to, by its subject CN; only an explicit entry gives it a role. */
export function principalForCertificate(tokens: readonly TokenEntry[], commonName: string): Principal | undefined {
  const entry = tokens.find((candidate) => candidate.clientCertificateCN === commonName);
  return entry ? { name: entry.principal, role: entry.role } : undefined;
}
