import { isIPv6 } from "node:net";
import { createContextKey, type ConnectError, type ContextValues, type Interceptor } from "@connectrpc/connect";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { refusal } from "../rpc/errors.js";
import { principalKey } from "./access-control.js";
import { clientCertificateKey } from "./client-certificate.js";
import { principalForToken, type TokenEntry } from "./tokens.js";

export interface RateLimit {
  /** Sustained calls per second per principal. */
  perSecond: number;
  /** Calls a principal may make at once after being idle. */
  burst: number;
}

/** The address a call came from, as the connection shows it (a proxy's, behind one). */
export const remoteAddressKey = createContextKey<string | undefined>(undefined);

/** Set on a call the front door refused, so the request log can leave it out (see frontDoorInterceptor). */
export const refusedAtFrontDoorKey = createContextKey<boolean>(false);

/**
 * Probes keep answering during a flood: a load balancer that sees failed
 * health checks takes the instance out, which is what the flood wanted. Their
 * answers come from memory, and Watch streams still count as streams.
 */
function isExempt(request: { service: { typeName: string } }): boolean {
  return request.service.typeName === Health.typeName;
}

/** Buckets kept at most; past it, the least recently used are forgotten (they were full, or nearly). */
const maxBuckets = 10_000;

/**
 * A token bucket per key. A key's bucket is made full on first use, so
 * forgetting an idle one changes nothing; the map stays bounded however many
 * addresses call.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; refilledAt: number }>();

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one token from the key's bucket; false when it is empty. */
  take(key: string): boolean {
    const time = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.limit.burst, refilledAt: time };
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + ((time - bucket.refilledAt) / 1000) * this.limit.perSecond);
    bucket.refilledAt = time;
    // Re-inserted, so the map's order is least recently used first.
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > maxBuckets) this.buckets.delete(this.buckets.keys().next().value as string);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

/**
 * A token bucket per principal (one shared bucket when authentication is
 * off). Over the limit, calls fail fast with RESOURCE_EXHAUSTED instead of
 * queueing, so a runaway client cannot starve the others.
 */
export function rateLimitInterceptor(limit: RateLimit, now?: () => number): Interceptor {
  const buckets = new TokenBuckets(limit, now);
  // Not async: an admitted call passes straight through, without an extra promise.
  return (next) => (request) => {
    if (isExempt(request)) return next(request);
    const who = request.contextValues.get(principalKey)?.name ?? "";
    if (buckets.take(who)) return next(request);
    return Promise.reject(
      refusal("rate-limited", `Rate limit exceeded: at most ${limit.perSecond} calls per second${who ? ` for ${JSON.stringify(who)}` : ""}; retry later`),
    );
  };
}

export interface FrontDoorLog {
  warn(fields: object, message: string): void;
}

/** How often, at most, the front door logs a summary of what it refused from one address. */
const refusalSummaryIntervalMs = 60_000;

/**
 * Rate-limits callers without valid credentials, before authentication, with
 * a bucket per client address (an IPv6 /64 counts as one address, as one host
 * usually holds all of it). Without it, a caller with no token or a wrong one
 * reaches the token check, the audit log and the request decoder as often as
 * it likes. Callers with a valid token or a verified client certificate are
 * not counted here; rateLimitInterceptor counts them per principal.
 *
 * Behind a reverse proxy every caller has the proxy's address: the callers
 * without credentials then share one bucket, and the proxy should limit per
 * client itself. Osiris does not read X-Forwarded-For, which any client can
 * forge.
 *
 * A refused call gets RESOURCE_EXHAUSTED and no request-log line of its own;
 * instead one line per address and minute says how many were refused, so a
 * flood cannot fill the disk through the log.
 */
export function frontDoorInterceptor(door: FrontDoor): Interceptor {
  return (next) => (request) => {
    const refused = door({ service: request.service, authorization: request.header.get("authorization"), values: request.contextValues });
    return refused ? Promise.reject(refused) : next(request);
  };
}

/** What the front door reads of a call; a request gate (before the body) has it too. */
export interface FrontDoorCall {
  service: { typeName: string };
  authorization: string | null;
  values: ContextValues;
}

/** The front door's check: the refusal for a call it turns away, else undefined. One per app, shared by the interceptor and the request gate. */
export type FrontDoor = (call: FrontDoorCall) => ConnectError | undefined;

export function createFrontDoor(
  limit: RateLimit,
  tokens: readonly TokenEntry[] | undefined,
  log: FrontDoorLog,
  now: () => number = () => performance.now(),
): FrontDoor {
  const buckets = new TokenBuckets(limit, now);
  const refusals = new Map<string, { count: number; since: number }>();
  const noteRefusal = (address: string) => {
    const time = now();
    const entry = refusals.get(address);
    if (entry && time - entry.since < refusalSummaryIntervalMs) {
      entry.count++;
      return;
    }
    refusals.delete(address);
    if (refusals.size >= maxBuckets) refusals.delete(refusals.keys().next().value as string);
    // The first refusal from an address is logged at once, then one summary a minute.
    refusals.set(address, { count: 0, since: time });
    log.warn(
      { address, refusedSinceLastReport: (entry?.count ?? 0) + 1, perSecond: limit.perSecond },
      "rate limit: refusing calls without valid credentials from this address",
    );
  };
  return (call) => {
    if (isExempt(call) || hasValidCredentials(call, tokens)) return undefined;
    const address = addressBucket(call.values.get(remoteAddressKey));
    if (buckets.take(address)) return undefined;
    call.values.set(refusedAtFrontDoorKey, true);
    noteRefusal(address);
    return refusal(
      "rate-limited",
      `Rate limit exceeded: at most ${limit.perSecond} calls per second from one address without valid credentials; retry later, or authenticate`,
    );
  };
}

/**
 * Whether the call carries a token that names a principal, or a certificate
 * the TLS handshake verified against the operator's CA. Which role either
 * gets is for the access-control interceptor to decide.
 */
function hasValidCredentials(call: FrontDoorCall, tokens: readonly TokenEntry[] | undefined): boolean {
  if (call.values.get(clientCertificateKey) !== undefined) return true;
  if (tokens === undefined) return false;
  const bearer = /^Bearer[ ]+(\S+)$/i.exec(call.authorization ?? "")?.[1];
  return bearer !== undefined && principalForToken(tokens, bearer) !== undefined;
}

/** The bucket key of an address: IPv4 as is, IPv6 by its /64 prefix. */
export function addressBucket(address: string | undefined): string {
  if (address === undefined || address === "") return "unknown";
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  return `${expandIPv6(address).slice(0, 4).join(":")}::/64`;
}

/** The eight groups of an IPv6 address, "::" expanded. */
function expandIPv6(address: string): string[] {
  const [head = "", tail] = address.split("%")[0]!.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = Array.from({ length: Math.max(0, 8 - left.length - right.length) }, () => "0");
  return [...left, ...zeros, ...right].map((group) => group.toLowerCase().replace(/^0+(?=.)/, ""));
}

/** The peer address of a request's connection; undefined once the connection is gone (HTTP/2's socket then throws). */
export function remoteAddressOf(request: { socket: { remoteAddress?: string } }): string | undefined {
  try {
    return request.socket.remoteAddress;
  } catch {
    return undefined;
  }
}
