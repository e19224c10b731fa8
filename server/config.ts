import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { defaultEngineEndpoint } from "./containers/engine.js";
import { openRunPolicy, type RunPolicy } from "./containers/run-policy.js";
import { defaultIdleTimeoutMs, defaultMaxConnections } from "./open-connections.js";
import type { RateLimit } from "./security/rate-limit.js";
import { parseTokenList, TokenListError, type TokenEntry } from "./security/tokens.js";

export interface ListenAddress {
  host: string;
  port: number;
}

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  /** OSIRIS_TLS_CLIENT_CA: when set, clients must present a certificate it signed (mutual TLS). */
  clientCa?: Buffer;
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
  /** OSIRIS_EVENT_RECONNECT_MS: how long event watchers wait for a lost engine; default 30000. */
  eventReconnectWindowMs?: number;
  /** OSIRIS_CORS_ORIGINS: origins browsers may call from; default none. */
  corsOrigins: string[];
  /**
   * OSIRIS_ALLOWED_HOSTS: host names clients may address Osiris by, besides IP
   * addresses and localhost; default none. Requests naming another host are
   * refused on loopback connections, and everywhere once this is set.
   */
  allowedHosts: string[];
  /** OSIRIS_IDLE_TIMEOUT_MS: a connection with nothing in flight is closed after this long; default 60000. */
  idleTimeoutMs: number;
  /** OSIRIS_MAX_CONNECTIONS: open connections; past it the longest-idle one is closed. Default: half the open-file limit, at most 10000. */
  maxConnections: number;
  /** OSIRIS_TOKENS_FILE or OSIRIS_TOKENS; undefined means authentication is off (loopback only). */
  tokens?: TokenEntry[];
  /** OSIRIS_ALLOW_INSECURE_REMOTE=1: listen beyond loopback without tokens. */
  allowInsecureRemote: boolean;
  /** OSIRIS_SCOPE: "managed" (default) or "all" containers. */
  scope: "managed" | "all";
  /** OSIRIS_ALLOWED_IMAGES, OSIRIS_HOST_PORT_RANGE, OSIRIS_MAX_*. */
  runPolicy: RunPolicy;
  /** OSIRIS_RATE_LIMIT: calls per second per principal; default 50, burst twice that. */
  rateLimit: RateLimit;
  /** OSIRIS_MAX_STREAMS_PER_PRINCIPAL: open server streams per principal; default 100. */
  maxStreamsPerPrincipal: number;
  /** OSIRIS_MAX_INFLIGHT_PER_PRINCIPAL: unary calls in flight per principal (streams not counted); default 64. */
  maxInFlightPerPrincipal: number;
  /**
   * OSIRIS_REQUEST_DIGEST_KEY_FILE or OSIRIS_REQUEST_DIGEST_KEY: the HMAC key of
   * the request_id digest, shared by replicas; undefined means a random key per process.
   */
  requestDigestKey?: Buffer;
  /** OSIRIS_ABANDONED_RUN_AGE_MS and OSIRIS_ABANDONED_RUN_SWEEP_MS; see AbandonedRunSweep. */
  abandonedRuns: { ageMs: number; intervalMs: number };
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
  OSIRIS_TLS_CLIENT_CA        PEM CA file: require client certificates it signed
                              (mutual TLS). A certificate identifies the
                              OSIRIS_TOKENS_FILE entry whose "clientCertificateCN" is
                              its subject CN; one without a CN or without such an
                              entry is refused (UNAUTHENTICATED). Default: unset.
  OSIRIS_READ_MAX_BYTES       Largest request message in bytes. Default 4194304.
  OSIRIS_SHUTDOWN_TIMEOUT_MS  Grace for in-flight calls on SIGTERM. Default 10000.
  OSIRIS_EVENT_RECONNECT_MS   How long WatchDockerEvents streams wait for a lost engine
                              before ending with UNAVAILABLE. Default 30000.
  OSIRIS_ABANDONED_RUN_AGE_MS How old a container Osiris created but never started must
                              be before it is removed as a Run abandoned by a killed
                              process. Default 600000 (10 minutes).
  OSIRIS_ABANDONED_RUN_SWEEP_MS  How often to look for such containers. Default 60000.
  OSIRIS_CORS_ORIGINS         Comma-separated origins browsers may call from, e.g.
                              http://127.0.0.1:8081. Default: none; any request
                              with another Origin header is refused.
  OSIRIS_ALLOWED_HOSTS        Comma-separated host names clients may address Osiris by
                              (Host or :authority), besides IP addresses and
                              localhost. Requests naming any other host are refused
                              (PERMISSION_DENIED, HTTP 403) on loopback connections,
                              against DNS rebinding, and on every connection once
                              this is set. Default: none.
  OSIRIS_IDLE_TIMEOUT_MS      A connection with no call in flight is closed after
                              this long; one with calls in flight is pinged as often
                              (HTTP/2) and closed if the PING goes unanswered as long.
                              Default ${defaultIdleTimeoutMs}.
  OSIRIS_MAX_CONNECTIONS      Open connections. One more closes the connection idle
                              the longest (or, with none idle, the newcomer), so idle
                              clients cannot lock out probes. Default: half the
                              process's open-file limit, at most 10000.

Security:
  OSIRIS_TOKENS_FILE          JSON array of {"principal", "role": "viewer"|"operator",
                              "token" or "tokenSha256", and/or "clientCertificateCN"}.
                              Enables bearer authentication; "clientCertificateCN"
                              gives a client certificate's CN this entry's principal
                              and role (with OSIRIS_TLS_CLIENT_CA).
  OSIRIS_TOKENS               The same JSON inline, instead of a file.
                              Default: no tokens, and then loopback addresses only.
  OSIRIS_ALLOW_INSECURE_REMOTE  1 to listen beyond loopback without tokens. Default 0.
  OSIRIS_SCOPE                managed (only io.osiris.managed=true containers) or all.
                              Default managed.
  OSIRIS_BIND_MOUNT_ALLOWLIST Comma-separated host folders whose contents may be
                              bind-mounted, always read-only and never through a
                              symlink. Default: none, every bind mount refused.
                              Never mountable, whatever this says (a path that is,
                              is inside or contains one): /run/docker*,
                              /var/run/docker*, /run/containerd, /var/run/containerd,
                              /var/lib/docker, /var/lib/containerd, /proc, /sys,
                              /dev, /boot, /etc, the engine's data root, any path a
                              container can write, and any folder holding a unix
                              socket or device node.
  OSIRIS_ALLOWED_IMAGES       Comma-separated repository patterns, * as wildcard,
                              e.g. 127.0.0.1:5000/*. Default: any image.
  OSIRIS_HOST_PORT_RANGE      Host ports clients may publish on, min-max. Default
                              1024-65535 (no privileged ports); 0 (engine picks) is
                              always allowed.
  OSIRIS_MAX_MEMORY_BYTES     When set, every run must set memory_bytes at most this.
  OSIRIS_MAX_CPU_MILLICORES   When set, every run must set a CPU limit at most this.
  OSIRIS_MAX_MANAGED_CONTAINERS  Cap on managed containers on the engine, counted across
                              every Osiris sharing it. Past it, Run gets
                              RESOURCE_EXHAUSTED. Default: no cap.
  OSIRIS_MAX_PORTS_PER_RUN    Most ports one Run may publish. Default 32.
  OSIRIS_DEFAULT_HOST_IP      Host address for a port whose host_ip is empty, e.g.
                              0.0.0.0 to publish on every IPv4 address. Default
                              127.0.0.1 (loopback only).
  OSIRIS_REQUEST_DIGEST_KEY_FILE  File holding the key (32+ characters, e.g. from
                              \`openssl rand -hex 32\`) that request_id digests are
                              made with. Give every replica the same key. Default: a
                              random key per process, so a retry reaching another
                              replica or a restarted server gets FAILED_PRECONDITION.
  OSIRIS_REQUEST_DIGEST_KEY   The same key inline, instead of a file.
  OSIRIS_RATE_LIMIT           Calls per second per principal (burst: twice). Default 50.
                              Callers without a valid token or certificate are
                              limited the same way per client address (IPv6: per
                              /64), before authentication; behind a proxy they
                              share its address. Health checks are never limited.
  OSIRIS_MAX_STREAMS_PER_PRINCIPAL  Open streams per principal. Default 100.
  OSIRIS_MAX_INFLIGHT_PER_PRINCIPAL  Unary calls in flight per principal, e.g.
                              WaitDockerContainer until its container exits; past
                              it, RESOURCE_EXHAUSTED. Streams count only against
                              OSIRIS_MAX_STREAMS_PER_PRINCIPAL. Default 64.
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
  if (env.OSIRIS_TLS_CLIENT_CA && !tlsCert) {
    throw new ConfigError("OSIRIS_TLS_CLIENT_CA", "needs OSIRIS_TLS_CERT and OSIRIS_TLS_KEY: mutual TLS is TLS first");
  }
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
    tls: tlsCert && tlsKey ? tlsFiles(env, tlsCert, tlsKey) : undefined,
    readMaxBytes: positiveInteger("OSIRIS_READ_MAX_BYTES", env.OSIRIS_READ_MAX_BYTES, 4 * 1024 * 1024),
    shutdownTimeoutMs: positiveInteger("OSIRIS_SHUTDOWN_TIMEOUT_MS", env.OSIRIS_SHUTDOWN_TIMEOUT_MS, 10_000),
    eventReconnectWindowMs: positiveInteger("OSIRIS_EVENT_RECONNECT_MS", env.OSIRIS_EVENT_RECONNECT_MS, 30_000),
    corsOrigins: parseOrigins(env.OSIRIS_CORS_ORIGINS ?? ""),
    allowedHosts: parseHostNames(env.OSIRIS_ALLOWED_HOSTS ?? ""),
    idleTimeoutMs: positiveInteger("OSIRIS_IDLE_TIMEOUT_MS", env.OSIRIS_IDLE_TIMEOUT_MS, defaultIdleTimeoutMs),
    maxConnections: positiveInteger("OSIRIS_MAX_CONNECTIONS", env.OSIRIS_MAX_CONNECTIONS, defaultMaxConnections()),
    abandonedRuns: {
      ageMs: positiveInteger("OSIRIS_ABANDONED_RUN_AGE_MS", env.OSIRIS_ABANDONED_RUN_AGE_MS, 600_000),
      intervalMs: positiveInteger("OSIRIS_ABANDONED_RUN_SWEEP_MS", env.OSIRIS_ABANDONED_RUN_SWEEP_MS, 60_000),
    },
    ...securitySettings(env),
  };
}

function tlsFiles(env: NodeJS.ProcessEnv, cert: string, key: string): TlsFiles {
  const clientCa = env.OSIRIS_TLS_CLIENT_CA;
  return {
    cert: readPem("OSIRIS_TLS_CERT", cert),
    key: readPem("OSIRIS_TLS_KEY", key),
    clientCa: clientCa ? readPem("OSIRIS_TLS_CLIENT_CA", clientCa) : undefined,
  };
}

function securitySettings(env: NodeJS.ProcessEnv) {
  const tokens = loadTokens(env);
  const allowInsecureRemote = env.OSIRIS_ALLOW_INSECURE_REMOTE === "1";
  const listen = parseListenAddress(env.OSIRIS_LISTEN ?? "127.0.0.1:8080");
  // A client certificate from a configured CA authenticates as well as a token does.
  const mutualTls = Boolean(env.OSIRIS_TLS_CLIENT_CA);
  checkCertificateRoles(mutualTls, tokens);
  if (!tokens && !mutualTls && !allowInsecureRemote && !isLoopback(listen.host)) {
    throw new ConfigError(
      "OSIRIS_LISTEN",
      `${listen.host} is not a loopback address and no tokens are configured; set OSIRIS_TOKENS_FILE, or OSIRIS_ALLOW_INSECURE_REMOTE=1 to accept that anyone who can reach the port owns the host`,
    );
  }
  const scope = env.OSIRIS_SCOPE ?? "managed";
  if (scope !== "managed" && scope !== "all") throw new ConfigError("OSIRIS_SCOPE", 'must be "managed" or "all"');
  const perSecond = positiveInteger("OSIRIS_RATE_LIMIT", env.OSIRIS_RATE_LIMIT, 50);
  return {
    tokens,
    allowInsecureRemote,
    scope: scope as "managed" | "all",
    runPolicy: runPolicy(env),
    rateLimit: { perSecond, burst: perSecond * 2 },
    maxStreamsPerPrincipal: positiveInteger("OSIRIS_MAX_STREAMS_PER_PRINCIPAL", env.OSIRIS_MAX_STREAMS_PER_PRINCIPAL, 100),
    maxInFlightPerPrincipal: positiveInteger("OSIRIS_MAX_INFLIGHT_PER_PRINCIPAL", env.OSIRIS_MAX_INFLIGHT_PER_PRINCIPAL, 64),
    requestDigestKey: loadRequestDigestKey(env),
  };
}

/** Short keys would let someone who reads the engine's labels guess the key, then the env values. */
const minDigestKeyLength = 32;

function loadRequestDigestKey(env: NodeJS.ProcessEnv): Buffer | undefined {
  const [setting, key] = env.OSIRIS_REQUEST_DIGEST_KEY_FILE
    ? ["OSIRIS_REQUEST_DIGEST_KEY_FILE", readText("OSIRIS_REQUEST_DIGEST_KEY_FILE", env.OSIRIS_REQUEST_DIGEST_KEY_FILE).trim()]
    : ["OSIRIS_REQUEST_DIGEST_KEY", env.OSIRIS_REQUEST_DIGEST_KEY?.trim()];
  if (key === undefined || key === "") {
    if (setting === "OSIRIS_REQUEST_DIGEST_KEY_FILE") throw new ConfigError(setting, "the file is empty");
    return undefined;
  }
  if (key.length < minDigestKeyLength) {
    throw new ConfigError(setting, `the key has ${key.length} characters; use at least ${minDigestKeyLength}, e.g. from \`openssl rand -hex 32\``);
  }
  return Buffer.from(key, "utf8");
}

/** Certificates get roles only from token entries, so mutual TLS without them would refuse every caller. */
function checkCertificateRoles(mutualTls: boolean, tokens: TokenEntry[] | undefined): void {
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

function loadTokens(env: NodeJS.ProcessEnv): TokenEntry[] | undefined {
  const [setting, json] = env.OSIRIS_TOKENS_FILE
    ? ["OSIRIS_TOKENS_FILE", readText("OSIRIS_TOKENS_FILE", env.OSIRIS_TOKENS_FILE)]
    : ["OSIRIS_TOKENS", env.OSIRIS_TOKENS];
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

function runPolicy(env: NodeJS.ProcessEnv): RunPolicy {
  const range = env.OSIRIS_HOST_PORT_RANGE ?? `${openRunPolicy.hostPortMin}-${openRunPolicy.hostPortMax}`;
  const match = /^(\d{1,5})-(\d{1,5})$/.exec(range);
  const [min, max] = [Number(match?.[1]), Number(match?.[2])];
  if (!match || min < 1 || max > 65535 || min > max) {
    throw new ConfigError("OSIRIS_HOST_PORT_RANGE", `${JSON.stringify(range)} is not min-max within 1-65535`);
  }
  const optional = (setting: string, scale = 1) => {
    const value = env[setting];
    return value === undefined || value === "" ? undefined : positiveInteger(setting, value, 0) * scale;
  };
  const bindMountAllowlist = (env.OSIRIS_BIND_MOUNT_ALLOWLIST ?? "").split(",").map((p) => p.trim()).filter((p) => p !== "");
  for (const folder of bindMountAllowlist) {
    if (!folder.startsWith("/")) throw new ConfigError("OSIRIS_BIND_MOUNT_ALLOWLIST", `${JSON.stringify(folder)} is not an absolute path`);
  }
  return {
    bindMountAllowlist,
    allowedImages: (env.OSIRIS_ALLOWED_IMAGES ?? "").split(",").map((p) => p.trim()).filter((p) => p !== ""),
    hostPortMin: min,
    hostPortMax: max,
    maxMemoryBytes: optional("OSIRIS_MAX_MEMORY_BYTES"),
    maxNanoCpus: optional("OSIRIS_MAX_CPU_MILLICORES", 1_000_000),
    maxManagedContainers: optional("OSIRIS_MAX_MANAGED_CONTAINERS"),
    maxPortsPerRun: positiveInteger("OSIRIS_MAX_PORTS_PER_RUN", env.OSIRIS_MAX_PORTS_PER_RUN, openRunPolicy.maxPortsPerRun),
    defaultHostIp: parseHostIp(env.OSIRIS_DEFAULT_HOST_IP || openRunPolicy.defaultHostIp),
  };
}

function parseHostIp(value: string): string {
  if (isIP(value) === 0) {
    throw new ConfigError("OSIRIS_DEFAULT_HOST_IP", `${JSON.stringify(value)} is not an IP address such as 127.0.0.1, ::1 or 0.0.0.0`);
  }
  return value;
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** DNS names as a Host header carries them: lowercase, without a port or a trailing dot. */
function parseHostNames(value: string): string[] {
  const names = value.split(",").map((name) => name.trim().toLowerCase().replace(/\.$/, "")).filter((name) => name !== "");
  for (const name of names) {
    if (!/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(name)) {
      throw new ConfigError("OSIRIS_ALLOWED_HOSTS", `${JSON.stringify(name)} is not a host name such as osiris.internal (no port, no scheme)`);
    }
  }
  return names;
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

function readText(setting: string, path: string): string {
  return readPem(setting, path).toString("utf8");
}
