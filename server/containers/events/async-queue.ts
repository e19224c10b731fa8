import { abortReason, waitUnlessAborted } from "../engine/abortable.js";

export interface BacklogLimits<T> {
  /** Values the backlog may hold; unbounded when unset. */
  maxItems?: number;
  /** Bytes, as `sizeOf` counts them, the backlog may hold; unbounded when unset. */
  maxBytes?: number;
  sizeOf?: (value: T) => number;
}

/**
 * A one-consumer queue that a producer pushes into and a consumer drains with
 * `next`. It can be ended (the consumer sees the end after the backlog) or
 * failed (the consumer sees the error at once, and the backlog is let go).
 * `push` reports false when the backlog is over either limit, so a producer can
 * drop a consumer that cannot keep up instead of buffering without bound.
 */
export class AsyncQueue<T> {
  private backlog: T[] = [];
  private head = 0;
  private backlogBytes = 0;
  private waiter: { resolve: (value: IteratorResult<T>) => void; reject: (error: unknown) => void } | undefined;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private readonly maxItems: number;
  private readonly maxBytes: number;
  private readonly sizeOf: ((value: T) => number) | undefined;

  constructor(limits: BacklogLimits<T> = {}) {
    this.maxItems = limits.maxItems ?? Number.POSITIVE_INFINITY;
    this.maxBytes = limits.maxBytes ?? Number.POSITIVE_INFINITY;
    this.sizeOf = limits.maxBytes === undefined ? undefined : limits.sizeOf;
  }

  get size(): number {
    return this.backlog.length - this.head;
  }

  /** The backlog's size as `sizeOf` counts it; 0 without a byte limit. */
  get bytes(): number {
    return this.backlogBytes;
  }

  push(value: T): boolean {
    if (this.ended || this.failure) return true;
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter.resolve({ value, done: false });
      return true;
    }
    this.backlog.push(value);
    if (this.sizeOf) this.backlogBytes += this.sizeOf(value);
    return this.size <= this.maxItems && this.backlogBytes <= this.maxBytes;
  }

  end(): void {
    this.ended = true;
    if (this.waiter && this.size === 0) {
      this.waiter.resolve({ value: undefined, done: true });
      this.waiter = undefined;
    }
  }

  fail(error: unknown): void {
    if (this.failure) return;
    this.failure = { error };
    // Nobody will read the backlog now: let it go at once, not when the consumer does.
    this.backlog = [];
    this.head = 0;
    this.backlogBytes = 0;
    this.waiter?.reject(error);
    this.waiter = undefined;
  }

  next(signal: AbortSignal): Promise<IteratorResult<T>> {
    if (this.failure) return Promise.reject(this.failure.error);
    if (signal.aborted) return Promise.reject(abortReason(signal));
    if (this.size > 0) {
      const value = this.backlog[this.head] as T;
      this.backlog[this.head] = undefined as T;
      this.head++;
      if (this.sizeOf) this.backlogBytes -= this.sizeOf(value);
      // Compact now and then, so a long-lived queue does not grow its array forever.
      if (this.head > 1024 && this.head * 2 > this.backlog.length) {
        this.backlog.splice(0, this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return waitUnlessAborted<IteratorResult<T>>(
      signal,
      (waiter) => (this.waiter = waiter),
      () => (this.waiter = undefined),
    );
  }

  async *drain(signal: AbortSignal): AsyncGenerator<T> {
    for (;;) {
      const result = await this.next(signal);
      if (result.done) return;
      yield result.value;
    }
  }
}
