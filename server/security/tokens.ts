import { createHash, timingSafeEqual } from "node:crypto";

export type Role = "viewer" | "operator";

export interface TokenEntry {
  principal: string;
  role: Role;
  /** SHA-256 of the token; plaintext tokens are hashed on load and not kept. */
  sha256: Buffer;
}

export interface Principal {
  name: string;
  role: Role;
}

/** Why a tokens file or variable was refused; the config layer names the setting. */
export class TokenListError extends Error {}

/**
 * Parses `[{"principal": "...", "role": "viewer"|"operator", "token" | "tokenSha256": "..."}]`.
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
  return parsed.map((entry: unknown, index) => {
    const where = `entry ${index}`;
    if (typeof entry !== "object" || entry === null) throw new TokenListError(`${where} is not an object`);
    const { principal, role, token, tokenSha256 } = entry as Record<string, unknown>;
    if (typeof principal !== "string" || principal === "") throw new TokenListError(`${where}: "principal" must be a non-empty string`);
    if (principals.has(principal)) throw new TokenListError(`${where}: principal ${JSON.stringify(principal)} appears twice`);
    principals.add(principal);
    if (role !== "viewer" && role !== "operator") throw new TokenListError(`${where}: "role" must be "viewer" or "operator"`);
    let sha256: Buffer;
    if (typeof token === "string" && tokenSha256 === undefined) {
      if (token.length < 16) throw new TokenListError(`${where}: "token" must be at least 16 characters`);
      sha256 = sha256Of(token);
    } else if (typeof tokenSha256 === "string" && token === undefined && /^[0-9a-f]{64}$/i.test(tokenSha256)) {
      sha256 = Buffer.from(tokenSha256, "hex");
    } else {
      throw new TokenListError(`${where}: give exactly one of "token" or "tokenSha256" (64 hex digits)`);
    }
    return { principal, role, sha256 };
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
    if (timingSafeEqual(entry.sha256, digest) && found === undefined) found = entry;
  }
  return found ? { name: found.principal, role: found.role } : undefined;
}
