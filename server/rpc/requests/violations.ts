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

/** Collects every problem before failing, so a client fixes its request in one round trip. */
export class Violations {
  readonly list: FieldViolation[] = [];
  add(field: string, description: string): void {
    this.list.push({ field, description });
  }
  throwIfAny(): void {
    if (this.list.length > 0) throw new InvalidRequestError(this.list);
  }
}
