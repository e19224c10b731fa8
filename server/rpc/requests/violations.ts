export interface FieldViolation {
  /** The proto path of the field, e.g. `ports[1].host_ip`. */
  field: string;
  description: string;
}

/** A request with one or more malformed fields; becomes INVALID_ARGUMENT with a BadRequest detail. */
export class InvalidRequestError extends Error {
  constructor(readonly violations: FieldViolation[]) {
    super(`Invalid request: ${violations.map((v) => `${v.field}: ${v.description}`).join("; ")}`);
    this.name = "InvalidRequestError";
  }
}

/**
 * Collects every problem before failing, so a client fixes its request in one
 * round trip. Lists at most `maxListed`: a request of many bad entries would
 * otherwise get an answer as large as itself.
 */
export class Violations {
  static readonly maxListed = 100;
  readonly list: FieldViolation[] = [];
  private unlisted = 0;
  add(field: string, description: string): void {
    if (this.list.length < Violations.maxListed) this.list.push({ field, description });
    else this.unlisted++;
  }
  throwIfAny(): void {
    if (this.unlisted > 0) {
      this.list.push({ field: "", description: `and ${this.unlisted} more problems, not listed; fix these and send the request again` });
      this.unlisted = 0;
    }
    if (this.list.length > 0) throw new InvalidRequestError(this.list);
  }
}
