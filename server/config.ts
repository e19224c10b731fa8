import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { defaultEngineEndpoint } from "./containers/engine.js";

export interface ListenAddress {
  host: string;
  port: number;
}

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

export interface Config {
  /** OSIRIS_LISTEN; default 127.0.0.1:8080. */
  listen: ListenAddress;
  /** DOCKER_HOST; default unix:///var/run/docker.sock. */
  engineEndpoint: string;
  /** OSIRIS_LOG_LEVEL; default info. */
  logLevel: string;
  /** OSIRIS_TLS_CERT and OSIRIS_TLS_KEY (PEM files); both or neither. */
  tls?: TlsFiles;
  /** OSIRIS_READ_MAX_BYTES: the largest request message accepted; default 4 MiB. */
  readMaxBytes: number;
  /** OSIRIS_SHUTDOWN_TIMEOUT_MS: how long in-flight calls may finish after SIGTERM; default 10000. */
  shutdownTimeoutMs: number;
  /** OSIRIS_CORS_ORIGINS: origins browsers may call from; default none. */
  corsOrigins: string[];
}

/** One line per setting, shown by --help. */
export const settingsHelp = `Osiris reads its settings from the environment:

  OSIRIS_LISTEN               host:port to serve gRPC, gRPC-Web and Connect on.
                              Default 127.0.0.1:8080. Use [::1]:8080 for IPv6.
  DOCKER_HOST                 The engine: unix:///path or tcp://host:port.
                              Default ${defaultEngineEndpoint}.
  OSIRIS_LOG_LEVEL            fatal, error, warn, info, debug or trace. Default info.
  OSIRIS_TLS_CERT             PEM certificate file. With OSIRIS_TLS_KEY, serves
  OSIRIS_TLS_KEY              TLS with ALPN (h2 and http/1.1). Default: cleartext.
  OSIRIS_READ_MAX_BYTES       Largest request message in bytes. Default 4194304.
  OSIRIS_SHUTDOWN_TIMEOUT_MS  Grace for in-flight calls on SIGTERM. Default 10000.
  OSIRIS_CORS_ORIGINS         Comma-separated origins browsers may call from, e.g.
                              http://127.0.0.1:8081. Default: none; any request
                              with another Origin header is refused.
`;

const logLevels = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/** A setting with a bad value; main prints it and exits before listening. */
export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    problem: string,
  ) {
    super(`${setting}: ${problem}`);
    this.name = "ConfigError";
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const tlsCert = env.OSIRIS_TLS_CERT;
  const tlsKey = env.OSIRIS_TLS_KEY;
  if (Boolean(tlsCert) !== Boolean(tlsKey)) {
    throw new ConfigError(tlsCert ? "OSIRIS_TLS_KEY" : "OSIRIS_TLS_CERT", "set both OSIRIS_TLS_CERT and OSIRIS_TLS_KEY, or neither");
  }
  const logLevel = env.OSIRIS_LOG_LEVEL ?? "info";
  if (!logLevels.has(logLevel)) {
    throw new ConfigError("OSIRIS_LOG_LEVEL", `unknown level ${JSON.stringify(logLevel)}`);
  }
  return {
    listen: parseListenAddress(env.OSIRIS_LISTEN ?? "127.0.0.1:8080"),
    engineEndpoint: parseEngineEndpoint(env.DOCKER_HOST || defaultEngineEndpoint),
    logLevel,
    tls: tlsCert && tlsKey ? { cert: readPem("OSIRIS_TLS_CERT", tlsCert), key: readPem("OSIRIS_TLS_KEY", tlsKey) } : undefined,
    readMaxBytes: positiveInteger("OSIRIS_READ_MAX_BYTES", env.OSIRIS_READ_MAX_BYTES, 4 * 1024 * 1024),
    shutdownTimeoutMs: positiveInteger("OSIRIS_SHUTDOWN_TIMEOUT_MS", env.OSIRIS_SHUTDOWN_TIMEOUT_MS, 10_000),
    corsOrigins: parseOrigins(env.OSIRIS_CORS_ORIGINS ?? ""),
  };
}

function parseOrigins(value: string): string[] {
  const origins = value.split(",").map((origin) => origin.trim()).filter((origin) => origin !== "");
  for (const origin of origins) {
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      url = undefined;
    }
    if (!url || !["http:", "https:"].includes(url.protocol) || url.origin !== origin) {
      throw new ConfigError("OSIRIS_CORS_ORIGINS", `${JSON.stringify(origin)} is not an origin such as https://dashboard.example.com`);
    }
  }
  return origins;
}

export function parseListenAddress(value: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !(port >= 0 && port <= 65535)) {
    throw new ConfigError("OSIRIS_LISTEN", `${JSON.stringify(value)} is not host:port (e.g. 127.0.0.1:8080 or [::1]:8080)`);
  }
  if (match?.[1] !== undefined && isIP(host) !== 6) {
    throw new ConfigError("OSIRIS_LISTEN", `${JSON.stringify(host)} is not an IPv6 address`);
  }
  return { host: host === "" ? "0.0.0.0" : host, port };
}

function parseEngineEndpoint(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError("DOCKER_HOST", `${JSON.stringify(value)} is not a URL such as unix:///var/run/docker.sock`);
  }
  if (!["unix:", "tcp:", "http:"].includes(url.protocol)) {
    throw new ConfigError("DOCKER_HOST", `scheme ${url.protocol} is not supported; use unix://, tcp:// or http://`);
  }
  return value;
}

function positiveInteger(setting: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number <= 0) {
    throw new ConfigError(setting, `${JSON.stringify(value)} is not a positive integer`);
  }
  return number;
}

function readPem(setting: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(setting, `cannot read ${path}: ${(error as Error).message}`);
  }
}
