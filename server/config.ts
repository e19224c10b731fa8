import { declaration } from "./settings/declaration.js";
import type { ListenAddress } from "./settings/parsers.js";
import { renderHelp } from "./settings/render.js";
import { ConfigError, readValues, type Values } from "./settings/setting.js";

export { ConfigError } from "./settings/setting.js";
export type { TlsFiles } from "./settings/credentials.js";
export type { ListenAddress } from "./settings/parsers.js";

/** Environment -> validated, typed settings. Each setting is declared once, in settings/declaration.ts. */
export interface Config extends Values<typeof declaration> {}

/** What --help prints. */
export const settingsHelp = renderHelp();

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const config = readValues(declaration, env);
  checkCertificateRoles(config);
  checkRemoteListenIsAuthenticated(config);
  return config;
}

/** Certificates get roles only from token entries, so mutual TLS without them would refuse every caller. */
function checkCertificateRoles({ tls, tokens }: Config): void {
  const mutualTls = tls?.clientCa !== undefined;
  const mapsCertificates = tokens?.some((entry) => entry.clientCertificateCN !== undefined) ?? false;
  if (mutualTls && !tokens) {
    throw new ConfigError(
      "OSIRIS_TLS_CLIENT_CA",
      'client certificates need roles: set OSIRIS_TOKENS_FILE with entries such as {"principal": "ci", "role": "viewer", "clientCertificateCN": "ci"}',
    );
  }
  if (mapsCertificates && !mutualTls) {
    throw new ConfigError("OSIRIS_TOKENS_FILE", '"clientCertificateCN" entries need OSIRIS_TLS_CLIENT_CA (mutual TLS) to mean anything');
  }
}

/** A client certificate from a configured CA authenticates as well as a token does. */
function checkRemoteListenIsAuthenticated({ tokens, tls, allowInsecureRemote, listen }: Config): void {
  if (!tokens && tls?.clientCa === undefined && !allowInsecureRemote && !isLoopback(listen.host)) {
    throw new ConfigError(
      "OSIRIS_LISTEN",
      `${listen.host} is not a loopback address and no tokens are configured; set OSIRIS_TOKENS_FILE, or OSIRIS_ALLOW_INSECURE_REMOTE=1 to accept that anyone who can reach the port owns the host`,
    );
  }
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** OSIRIS_LISTEN's parser; throws ConfigError naming it. */
export function parseListenAddress(value: string): ListenAddress {
  return declaration.listen.read({ OSIRIS_LISTEN: value });
}
