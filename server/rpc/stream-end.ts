import { Code, ConnectError } from "@connectrpc/connect";

/** How a streaming answer ended, for whoever accounts for it. */
export type StreamEnd =
  /** The handler finished. */
  | { how: "completed" }
  /** The handler, or a layer below, threw. */
  | { how: "failed"; error: unknown }
  /** The consumer stopped asking: the call was cut (client gone, deadline, shutdown), possibly before the handler ever ran. */
  | { how: "abandoned" };

/**
 * `messages`, with `onEnd` called exactly once when the stream ends, by any
 * path: done, failed, or closed by its consumer through return() or throw().
 *
 * Not an async generator with a finally block: return() on a generator that
 * was never started completes it without running its body, finally included.
 * That is what happens to a stream whose call is cut before its first message
 * is asked for (a 1 ms deadline that fires while the request body is read):
 * each layer's count then stayed taken forever, the per-principal stream slot
 * and the in-flight gauge alike. Here return() ends the stream whether or not
 * it started, and passes on to the layer below so that its accounting ends too.
 */
export function onStreamEnd<T>(messages: AsyncIterable<T>, onEnd: (end: StreamEnd) => void): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]: (): AsyncIterator<T> => {
      // Taken at once, as yield* would: a return() before the first next() must reach the layer below.
      const inner = messages[Symbol.asyncIterator]();
      let ended = false;
      const end = (how: StreamEnd) => {
        if (ended) return;
        ended = true;
        try {
          onEnd(how);
        } catch {
          // Accounting must not change how the stream ends.
        }
      };
      const closeInner = (value?: unknown): Promise<IteratorResult<T>> => {
        let closed: Promise<unknown> | undefined;
        try {
          closed = inner.return?.(value as T);
        } catch {
          // The layer below failed to clean up; this stream is over either way.
        }
        return Promise.resolve(closed)
          .catch(() => undefined)
          .then(() => ({ done: true, value: value as T }));
      };
      /** return() or throw() was called: the consumer is done, whatever the layer below still answers. */
      let closing = false;
      return {
        next: () => {
          if (ended || closing) return Promise.resolve({ done: true, value: undefined });
          let pending: Promise<IteratorResult<T>>;
          try {
            pending = inner.next();
          } catch (error) {
            pending = Promise.reject(error);
          }
          return pending.then(
            (result) => {
              if (result.done) end({ how: "completed" });
              return result;
            },
            (error: unknown) => {
              end({ how: "failed", error });
              throw error;
            },
          );
        },
        // Accounted once the layer below has let go (the handler's finally blocks have run), as a finally block would.
        return: (value?: unknown) => {
          closing = true;
          return closeInner(value).then((result) => {
            end({ how: "abandoned" });
            return result;
          });
        },
        throw: (error?: unknown) => {
          closing = true;
          return closeInner().then(() => {
            end({ how: "abandoned" });
            throw error;
          });
        },
      };
    },
  };
}

/**
 * The code an abandoned stream is accounted with: the server's own reason when
 * it cut the call (deadline, shutdown), which is what the client was told;
 * otherwise the client left, which is Canceled whatever its transport said
 * (a reset reads as Aborted, an HTTP/2 RST_STREAM code as anything).
 */
export function abandonedCode(signal: AbortSignal): Code {
  const reason: unknown = signal.reason;
  if (reason instanceof ConnectError && (reason.code === Code.DeadlineExceeded || reason.code === Code.Unavailable)) return reason.code;
  return Code.Canceled;
}
