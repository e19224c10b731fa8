// Docker's container name rule (daemon/names), with a leading "/" accepted in
// references because the engine itself reports names that way.
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

/** A name, full id or id prefix; the engine resolves which. */
export function containerReferenceProblem(reference: string): string | undefined {
  if (reference === "") return "must not be empty";
  return containerNameProblem(reference.startsWith("/") ? reference.slice(1) : reference);
}
