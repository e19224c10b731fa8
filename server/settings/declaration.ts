import { defaultEngineEndpoint } from "../containers/engine/engine-client.js";
import { defaultEventHubOptions } from "../containers/events/event-hub.js";
import { execOutputHardMaxBytes } from "../containers/operations/exec-in-container.js";
import { openRunPolicy, type RunPolicy } from "../containers/policy/run-policy.js";
import { defaultIdleTimeoutMs, defaultMaxConnections } from "../open-connections.js";
import type { RateLimit } from "../security/rate-limit.js";
import { requestDigestKey, tlsFiles, tokenList } from "./credentials.js";
import * as parse from "./parsers.js";
import { InvalidValue, section, variable, type Declaration } from "./setting.js";

/**
 * Every environment setting of Osiris, once. The field names are those of
 * Config; the typed Config, --help, the README's configuration table
 * (`npm run settings:readme`) and the validation all come from here.
 * Settings that only make sense together are checked in config.ts.
 */
export const declaration = {
  listen: variable("OSIRIS_LISTEN", {
    group: "Serving",
    default: "127.0.0.1:8080",
    refuseEmpty: true,
    parse: parse.listenAddress,
    description:
      "`host:port` to serve gRPC, gRPC-Web and Connect on, all three on one port. `[::1]:8080` for IPv6, `:8080` for every IPv4 address. An address beyond loopback needs tokens, mutual TLS or `OSIRIS_ALLOW_INSECURE_REMOTE=1`.",
  }),
  engineEndpoint: variable("DOCKER_HOST", {
    group: "Serving",
    default: defaultEngineEndpoint,
    parse: parse.engineEndpoint,
    description: "The Docker engine: `unix:///path`, `tcp://host:port` or `http://host:port`.",
  }),
  logLevel: variable("OSIRIS_LOG_LEVEL", {
    group: "Serving",
    default: "info",
    refuseEmpty: true,
    parse: parse.logLevel,
    description: "`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.",
  }),
  shutdownTimeoutMs: variable("OSIRIS_SHUTDOWN_TIMEOUT_MS", {
    group: "Serving",
    default: "10000",
    parse: parse.positiveInteger,
    description:
      "On SIGTERM or SIGINT, how many milliseconds in-flight unary calls may take to finish; open streams end at once with `UNAVAILABLE`.",
  }),
  eventReconnectWindowMs: variable("OSIRIS_EVENT_RECONNECT_MS", {
    group: "Serving",
    default: String(defaultEventHubOptions.reconnectWindowMs),
    parse: parse.positiveInteger,
    description: "How many milliseconds `WatchDockerEvents` streams wait for a lost engine before ending with `UNAVAILABLE`.",
  }),
  containerCache: variable("OSIRIS_CONTAINER_CACHE", {
    group: "Serving",
    default: "on",
    parse: parse.onOrOff,
    description:
      "`on` answers `GetDockerContainer`, `ListDockerContainers` and every scope check from an event-fed cache of the containers in scope (no engine call in steady state); `off` asks the engine every time.",
  }),
  cacheResyncMs: variable("OSIRIS_CACHE_RESYNC_MS", {
    group: "Serving",
    default: "300000",
    parse: parse.positiveInteger,
    description:
      "How often, in milliseconds, the container cache lists and inspects every container again, for events the engine may have dropped; it also does on every reconnection to the engine.",
  }),
  idleTimeoutMs: variable("OSIRIS_IDLE_TIMEOUT_MS", {
    group: "Serving",
    default: String(defaultIdleTimeoutMs),
    parse: parse.positiveInteger,
    description:
      "A connection with no call in flight is closed after this many milliseconds; one with calls in flight is pinged as often (HTTP/2) and closed if the PING goes unanswered as long.",
  }),
  ui: variable("OSIRIS_UI", {
    group: "Serving",
    default: "on",
    parse: parse.onOrOff,
    description:
      "`on` serves the web dashboard at `/ui/` (built by `npm run build:ui`; its files carry no data, and its calls need tokens like any client's); `off` answers 404 there.",
  }),
  tls: section(
    {
      cert: variable("OSIRIS_TLS_CERT", {
        group: "Security",
        shownDefault: "none (cleartext)",
        parse: parse.text,
        description:
          "PEM certificate file. With `OSIRIS_TLS_KEY`, the port serves TLS and ALPN picks HTTP/2 or HTTP/1.1. Set both or neither.",
      }),
      key: variable("OSIRIS_TLS_KEY", {
        group: "Security",
        shownDefault: "none",
        parse: parse.text,
        description: "PEM private key file of `OSIRIS_TLS_CERT`.",
      }),
      clientCa: variable("OSIRIS_TLS_CLIENT_CA", {
        group: "Security",
        shownDefault: "none",
        parse: parse.text,
        description:
          'PEM CA file: require client certificates it signed (mutual TLS); needs `OSIRIS_TLS_CERT` and `OSIRIS_TOKENS_FILE`. A certificate identifies the `OSIRIS_TOKENS_FILE` entry whose `"clientCertificateCN"` is its subject CN; one without a CN or without such an entry is refused (`UNAUTHENTICATED`).',
      }),
    },
    tlsFiles,
  ),
  tokens: section(
    {
      file: variable("OSIRIS_TOKENS_FILE", {
        group: "Security",
        shownDefault: "none (loopback addresses only)",
        parse: parse.text,
        description:
          'JSON array of `{"principal", "role": "viewer"|"operator", "token" or "tokenSha256", and/or "clientCertificateCN"}`. Turns on bearer authentication; `"clientCertificateCN"` gives a client certificate with that CN the entry\'s principal and role (with `OSIRIS_TLS_CLIENT_CA`).',
      }),
      inline: variable("OSIRIS_TOKENS", {
        group: "Security",
        shownDefault: "none",
        parse: parse.text,
        description: "The same JSON inline, instead of a file.",
      }),
    },
    tokenList,
  ),
  allowInsecureRemote: variable("OSIRIS_ALLOW_INSECURE_REMOTE", {
    group: "Security",
    default: "0",
    parse: parse.switchedOn,
    description: "`1` to listen beyond loopback without tokens, accepting that anyone who can reach the port owns the host.",
  }),
  scope: variable("OSIRIS_SCOPE", {
    group: "Security",
    default: "managed",
    refuseEmpty: true,
    parse: parse.scope,
    description:
      "`managed`: only containers labelled `io.osiris.managed=true` exist for callers; `all` widens it to every container of the engine.",
  }),
  corsOrigins: variable("OSIRIS_CORS_ORIGINS", {
    group: "Security",
    default: "",
    shownDefault: "none",
    parse: parse.origins,
    description:
      "Comma-separated origins browsers may call from, e.g. `http://127.0.0.1:8081`. A request with any other `Origin` header is refused.",
  }),
  allowedHosts: variable("OSIRIS_ALLOWED_HOSTS", {
    group: "Security",
    default: "",
    shownDefault: "none",
    parse: parse.hostNames,
    description:
      "Comma-separated host names clients may address Osiris by (`Host` or `:authority`), besides IP addresses and `localhost`. Requests naming any other host are refused (`PERMISSION_DENIED`, HTTP 403) on loopback connections, against DNS rebinding, and on every connection once this is set.",
  }),
  requestDigestKey: section(
    {
      file: variable("OSIRIS_REQUEST_DIGEST_KEY_FILE", {
        group: "Security",
        shownDefault: "a random key per process",
        parse: parse.text,
        description:
          "File holding the key (32+ characters, e.g. from `openssl rand -hex 32`) that `request_id` digests are made with. Give every replica the same key: with a random one, a retry reaching another replica or a restarted server gets `FAILED_PRECONDITION`.",
      }),
      inline: variable("OSIRIS_REQUEST_DIGEST_KEY", {
        group: "Security",
        shownDefault: "none",
        parse: parse.text,
        description: "The same key inline, instead of a file.",
      }),
    },
    requestDigestKey,
  ),
  runPolicy: section(
    {
      bindMountAllowlist: variable("OSIRIS_BIND_MOUNT_ALLOWLIST", {
        group: "Security",
        default: "",
        shownDefault: "none (every bind mount refused)",
        parse: parse.absolutePaths,
        description:
          "Comma-separated host folders whose contents may be bind-mounted, always read-only and never through a symlink. Never mountable, whatever this says (a path that is, is inside or contains one): `/run/docker*`, `/var/run/docker*`, `/run/containerd`, `/var/run/containerd`, `/var/lib/docker`, `/var/lib/containerd`, `/proc`, `/sys`, `/dev`, `/boot`, `/etc`, the engine's data root, any path a container can write, and any folder holding a unix socket or device node. Osiris checks each path in its own filesystem, so these folders must be visible to Osiris at the same path as on the engine's host (in Osiris's container, mount them at the same path; with a remote engine, binds are refused): a source, allowlist folder or folder between them that Osiris cannot see is refused, and one missing at startup is logged. Start and Restart check binds again.",
      }),
      allowedImages: variable("OSIRIS_ALLOWED_IMAGES", {
        group: "Security",
        default: "",
        shownDefault: "any image",
        parse: parse.commaSeparated,
        description: "Comma-separated repository patterns, `*` as wildcard, e.g. `127.0.0.1:5000/*`, that Run and Pull may use.",
      }),
      hostPorts: variable("OSIRIS_HOST_PORT_RANGE", {
        group: "Security",
        default: `${openRunPolicy.hostPortMin}-${openRunPolicy.hostPortMax}`,
        refuseEmpty: true,
        parse: parse.portRange,
        description: "Host ports clients may publish on, `min-max`; 0 (the engine picks) is always allowed. The default leaves out privileged ports.",
      }),
      defaultHostIp: variable("OSIRIS_DEFAULT_HOST_IP", {
        group: "Security",
        default: openRunPolicy.defaultHostIp,
        parse: parse.ipAddress,
        description: "Host address for a port whose `host_ip` is empty, e.g. `0.0.0.0` to publish on every IPv4 address. The default is loopback only.",
      }),
      maxMemoryBytes: variable("OSIRIS_MAX_MEMORY_BYTES", {
        group: "Limits",
        shownDefault: "none",
        parse: parse.positiveInteger,
        description: "When set, every Run must set `memory_bytes`, at most this.",
      }),
      maxNanoCpus: variable("OSIRIS_MAX_CPU_MILLICORES", {
        group: "Limits",
        shownDefault: "none",
        parse: (value) => parse.positiveInteger(value) * 1_000_000,
        description: "When set, every Run must set a CPU limit, at most this many thousandths of a CPU.",
      }),
      maxManagedContainers: variable("OSIRIS_MAX_MANAGED_CONTAINERS", {
        group: "Limits",
        shownDefault: "no cap",
        parse: parse.positiveInteger,
        description:
          "Cap on managed containers on the engine, in any state, counted across every Osiris sharing it. Past it, Run gets `RESOURCE_EXHAUSTED`.",
      }),
      maxPortsPerRun: variable("OSIRIS_MAX_PORTS_PER_RUN", {
        group: "Limits",
        default: String(openRunPolicy.maxPortsPerRun),
        parse: parse.positiveInteger,
        description: "Most ports one Run may publish; each costs the host a proxy process.",
      }),
      maxPidsPerContainer: variable("OSIRIS_MAX_PIDS_PER_CONTAINER", {
        group: "Limits",
        default: String(openRunPolicy.maxPidsPerContainer),
        parse: parse.positiveInteger,
        description: "Processes and threads one container may hold (the engine's PidsLimit), so a fork bomb fills its own table, not the host's.",
      }),
    },
    ({ hostPorts, ...policy }): RunPolicy => ({ ...policy, hostPortMin: hostPorts.min, hostPortMax: hostPorts.max }),
  ),
  exec: section({
    enabled: variable("OSIRIS_EXEC", {
      group: "Security",
      default: "on",
      parse: parse.onOrOff,
      description:
        "`off` refuses every `ExecDockerContainer` with `PERMISSION_DENIED` (operators can otherwise run any command in any container in scope, as the container's user or any other).",
    }),
    defaultMaxOutputBytes: variable("OSIRIS_EXEC_MAX_OUTPUT_BYTES", {
      group: "Limits",
      default: String(1024 * 1024),
      parse: (value): number => {
        const bytes = parse.positiveInteger(value);
        if (bytes > execOutputHardMaxBytes) throw new InvalidValue(`must be at most ${execOutputHardMaxBytes} (8 MiB)`);
        return bytes;
      },
      description:
        "Bytes of stdout, and of stderr, an `ExecDockerContainer` returns when its request sets no `max_output_bytes`; at most 8 MiB. A process writing more is killed and its output marked truncated.",
    }),
  }),
  readMaxBytes: variable("OSIRIS_READ_MAX_BYTES", {
    group: "Limits",
    default: String(4 * 1024 * 1024),
    parse: parse.positiveInteger,
    description: "Largest request message in bytes; a larger one gets `RESOURCE_EXHAUSTED`.",
  }),
  maxConnections: variable("OSIRIS_MAX_CONNECTIONS", {
    group: "Limits",
    default: defaultMaxConnections,
    shownDefault: "half the open-file limit, from 64 to 10000",
    parse: parse.positiveInteger,
    description:
      "Open connections. One more closes the connection idle the longest (or, with none idle, the newcomer), so idle clients cannot lock out probes.",
  }),
  rateLimit: variable("OSIRIS_RATE_LIMIT", {
    group: "Limits",
    default: "50",
    parse: (value): RateLimit => {
      const perSecond = parse.positiveInteger(value);
      return { perSecond, burst: perSecond * 2 };
    },
    description:
      "Calls per second per principal, with bursts of twice that; over it, `RESOURCE_EXHAUSTED`. Callers without a valid token or certificate are limited the same way per client address (IPv6: per /64), before authentication; behind a proxy they share its address. Health checks are never limited.",
  }),
  maxStreamsPerPrincipal: variable("OSIRIS_MAX_STREAMS_PER_PRINCIPAL", {
    group: "Limits",
    default: "100",
    parse: parse.positiveInteger,
    description: "Open server streams per principal; one more gets `RESOURCE_EXHAUSTED`.",
  }),
  maxInFlightPerPrincipal: variable("OSIRIS_MAX_INFLIGHT_PER_PRINCIPAL", {
    group: "Limits",
    default: "64",
    parse: parse.positiveInteger,
    description:
      "Unary calls in flight per principal, e.g. `WaitDockerContainer` until its container exits; past it, `RESOURCE_EXHAUSTED`. Streams count only against `OSIRIS_MAX_STREAMS_PER_PRINCIPAL`.",
  }),
  abandonedRuns: section({
    ageMs: variable("OSIRIS_ABANDONED_RUN_AGE_MS", {
      group: "Housekeeping",
      default: "600000",
      parse: parse.positiveInteger,
      description:
        "How many milliseconds old a managed container still in `created` state must be before it is removed as a Run whose process was killed between create and start.",
    }),
    intervalMs: variable("OSIRIS_ABANDONED_RUN_SWEEP_MS", {
      group: "Housekeeping",
      default: "60000",
      parse: parse.positiveInteger,
      description: "How often, in milliseconds, to look for such containers.",
    }),
  }),
} satisfies Declaration;
