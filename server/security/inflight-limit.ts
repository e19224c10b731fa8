import type { Interceptor } from "@connectrpc/connect";
import { refusal } from "../rpc/errors.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { principalKey } from "./access-control.js";

/**
 * Caps the unary calls one principal may have in flight at once (one shared
 * count when authentication is off). A unary call can last as long as the
 * client likes: WaitDockerContainer until a container exits, Stop through its
 * timeout, Run through a pull. Each holds an engine connection (a file
 * descriptor) meanwhile, so without a cap one viewer could hold a thousand and
 * reach the process's descriptor limit. Past the cap a call is refused at once
 * with RESOURCE_EXHAUSTED. Every unary call counts, not a list of "long" ones
 * that would go stale; streams have their own cap (streamLimitInterceptor).
 * Health checks are exempt: they are answered from memory.
 */
export function inFlightLimitInterceptor(maxInFlightPerPrincipal: number): Interceptor {
  const inFlight = new Map<string, number>();
  const release = (who: string) => {
    const left = (inFlight.get(who) ?? 1) - 1;
    if (left === 0) inFlight.delete(who);
    else inFlight.set(who, left);
  };
  // Not async: streams and exempt calls pass straight through, without an extra promise.
  return (next) => (request) => {
    if (request.method.methodKind !== "unary" || request.service.typeName === Health.typeName) return next(request);
    const who = request.contextValues.get(principalKey)?.name ?? "";
    const count = inFlight.get(who) ?? 0;
    if (count >= maxInFlightPerPrincipal) {
      return Promise.reject(
        refusal(
          "too-many-calls-in-flight",
          `Too many calls in flight: at most ${maxInFlightPerPrincipal}${who ? ` for ${JSON.stringify(who)}` : ""}; wait for one to finish (WaitDockerContainer counts until the container exits)`,
        ),
      );
    }
    inFlight.set(who, count + 1);
    let pending;
    try {
      pending = next(request);
    } catch (error) {
      release(who);
      throw error;
    }
    return pending.then(
      (response) => {
        release(who);
        return response;
      },
      (error: unknown) => {
        release(who);
        throw error;
      },
    );
  };
}
