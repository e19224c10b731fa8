import type { Interceptor } from "@connectrpc/connect";
import { refusal } from "../rpc/errors.js";
import { onStreamEnd } from "../rpc/stream-end.js";
import { principalKey } from "./access-control.js";

/**
 * Caps the server streams one principal may hold open at once (one shared
 * count when authentication is off). Streams are long-lived, so a client that
 * opens them in a loop would otherwise pin memory and engine connections.
 */
export function streamLimitInterceptor(maxStreamsPerPrincipal: number): Interceptor {
  const open = new Map<string, number>();
  // Unary calls pass straight through, without an extra promise.
  return (next) => (request) =>
    request.method.methodKind === "server_streaming" || request.method.methodKind === "bidi_streaming"
      ? limited(next, request)
      : next(request);

  async function limited(next: Parameters<Interceptor>[0], request: Parameters<Parameters<Interceptor>[0]>[0]) {
    const who = request.contextValues.get(principalKey)?.name ?? "";
    const count = open.get(who) ?? 0;
    if (count >= maxStreamsPerPrincipal) {
      throw refusal(
        "too-many-streams",
        `Too many open streams: at most ${maxStreamsPerPrincipal}${who ? ` for ${JSON.stringify(who)}` : ""}; close one first`,
      );
    }
    open.set(who, count + 1);
    const release = () => {
      const left = (open.get(who) ?? 1) - 1;
      if (left === 0) open.delete(who);
      else open.set(who, left);
    };
    try {
      const response = await next(request);
      if (!response.stream) {
        release();
        return response;
      }
      // Released however the stream ends, also when it is cut before its handler is asked for a first message.
      return { ...response, message: onStreamEnd(response.message, release) };
    } catch (error) {
      release();
      throw error;
    }
  }
}
