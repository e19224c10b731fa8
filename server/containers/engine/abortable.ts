/** The reason the caller gave for aborting, as an Error. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error("The operation was aborted");
}

/**
 * Settles with `work`, or rejects with the abort reason as soon as `signal`
 * fires. `work` itself keeps going: it must clean up after itself when it
 * finds the signal aborted.
 */
export function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** Settles a promise that waits for a producer: resolve and reject drop the abort listener. */
export interface Waiter<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/**
 * A promise a producer settles through the Waiter handed to `park`, or that
 * rejects with the abort reason when `signal` fires first (then `unpark`
 * runs, so the producer forgets the waiter). The wait of a queue's reader.
 */
export function waitUnlessAborted<T>(signal: AbortSignal, park: (waiter: Waiter<T>) => void, unpark: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      unpark();
      reject(abortReason(signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    park({
      resolve: (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      reject: (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    });
  });
}
