import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { principalKey } from "./access-control.js";

export interface RateLimit {
  /** Sustained calls per second per principal. */
  perSecond: number;
  /** Calls a principal may make at once after being idle. */
  burst: number;
}

interface Bucket {
  tokens: number;
  refilledAt: number;
}

/**
 * A token bucket per principal (one shared bucket when authentication is
 * off). Over the limit, calls fail fast with RESOURCE_EXHAUSTED instead of
 * queueing, so a runaway client cannot starve the others.
 */
export function rateLimitInterceptor(limit: RateLimit, now: () => number = () => performance.now()): Interceptor {
  const buckets = new Map<string, Bucket>();
  // Not async: an admitted call passes straight through, without an extra promise.
  return (next) => (request) => {
    const who = request.contextValues.get(principalKey)?.name ?? "";
    const time = now();
    const bucket = buckets.get(who) ?? { tokens: limit.burst, refilledAt: time };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((time - bucket.refilledAt) / 1000) * limit.perSecond);
    bucket.refilledAt = time;
    buckets.set(who, bucket);
    if (bucket.tokens < 1) {
      return Promise.reject(
        new ConnectError(
          `Rate limit exceeded: at most ${limit.perSecond} calls per second${who ? ` for ${JSON.stringify(who)}` : ""}; retry later`,
          Code.ResourceExhausted,
        ),
      );
    }
    bucket.tokens -= 1;
    return next(request);
  };
}
