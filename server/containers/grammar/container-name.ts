// Docker's container name rule (daemon/names).
const containerNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const maxContainerNameLength = 253;

export function containerNameProblem(name: string): string | undefined {
  if (name.length > maxContainerNameLength) {
    return `must be at most ${maxContainerNameLength} characters`;
  }
  if (!containerNamePattern.test(name)) {
    return "must match [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least 2 characters)";
  }
  return undefined;
}

/**
 * The engine reports names as "/web", so clients may send one back that way.
 * One leading "/" is dropped; sent on, it would make the engine path
 * `/containers//web/json`, which the engine answers with a redirect.
 */
export function normaliseContainerReference(reference: string): string {
  return reference.startsWith("/") ? reference.slice(1) : reference;
}

/** A name, full id or id prefix, already normalised; the engine resolves which. */
export function containerReferenceProblem(reference: string): string | undefined {
  if (reference === "") return "must not be empty";
  return containerNameProblem(reference);
}

/** Whether a reference can be an id prefix, the only kind that can match several containers. */
export function couldBeIdPrefix(reference: string): boolean {
  return /^[0-9a-f]{1,64}$/.test(reference);
}
