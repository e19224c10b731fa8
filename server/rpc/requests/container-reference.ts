import { containerReferenceProblem, normaliseContainerReference } from "../../containers/grammar/container-name.js";
import { Violations } from "./violations.js";

/**
 * The `container` field of a request, normalised and checked. Normalised
 * here, once, so every layer below sees the same reference: a name the engine
 * reported as "/web" is "web" from here on. A problem is added to
 * `violations` under the field name `container`.
 */
export function checkedContainerReference(raw: string, violations: Violations): string {
  const container = normaliseContainerReference(raw);
  const problem = containerReferenceProblem(container);
  if (problem) violations.add("container", problem);
  return container;
}

/** The container a request names when that is all it says that needs checking (Get, Start, Remove). */
export function containerReferenceFromRequest(request: { container: string }): string {
  const violations = new Violations();
  const container = checkedContainerReference(request.container, violations);
  violations.throwIfAny();
  return container;
}
