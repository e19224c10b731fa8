import { ContainerCapReachedError } from "../errors.js";

/** Counts the managed containers on the engine, in any state. */
export type CountManaged = (signal?: AbortSignal) => Promise<number>;

/**
 * OSIRIS_MAX_MANAGED_CONTAINERS, held under any concurrency.
 *
 * In one process, counting and creating are serialized: no other create of
 * this process comes between a Run's count and its create, so two Runs never
 * both take the last place.
 *
 * Processes sharing the engine have no lock in common, so each Run also
 * counts again after its create (before its start). If the engine then holds
 * more than the cap, that Run removes its own container and is refused. Of two
 * racing creates, whichever counts later sees both, so at least one of them
 * rolls back and the cap is never exceeded beyond the moment of a rollback.
 * Both may roll back: a race between processes can cost a spurious refusal,
 * never an overshoot. (An order such as "the oldest ones stay" would need
 * every process to agree on the order, and a container may become visible
 * after one with a later creation time.)
 */
export class ContainerCap {
  /** The end of the chain of count-and-create sections of this process. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly cap: number | undefined,
    private readonly countManaged: CountManaged,
  ) {}

  /** Refuses early, without a place being held: for work worth skipping when full (a pull). */
  async check(signal: AbortSignal): Promise<void> {
    if (this.cap === undefined) return;
    const managed = await this.countManaged(signal);
    if (managed >= this.cap) throw new ContainerCapReachedError(managed, this.cap);
  }

  /**
   * Runs `create` when a place is free, with no other create of this process
   * between the count and it. The count honours the signal; once begun, the
   * create does not (its caller rolls back what it made).
   */
  async create<T>(signal: AbortSignal, create: () => Promise<T>): Promise<T> {
    const cap = this.cap;
    if (cap === undefined) return create();
    const section = this.tail.then(async () => {
      signal.throwIfAborted();
      const managed = await this.countManaged(signal);
      if (managed >= cap) throw new ContainerCapReachedError(managed, cap);
      return create();
    });
    this.tail = section.catch(() => undefined);
    return section;
  }

  /** After a create: refuses if other processes' creates took the engine past the cap meanwhile. */
  async confirm(): Promise<void> {
    if (this.cap === undefined) return;
    const managed = await this.countManaged();
    if (managed > this.cap) throw new ContainerCapReachedError(managed, this.cap);
  }
}
