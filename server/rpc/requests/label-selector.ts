import { selectorSizeProblem } from "../../containers/grammar/label-selector.js";
import { isClientVisibleLabel, managedLabel, reservedLabelPrefix } from "../../containers/grammar/labels.js";
import type { Violations } from "./violations.js";

/** Checks the label selector of List and WatchDockerEvents; problems are added under `field`. */
export function checkLabelSelector(field: string, selector: Record<string, string>, violations: Violations): void {
  const sizeProblem = selectorSizeProblem(selector);
  if (sizeProblem) {
    // Checking each key of an oversized selector would only make the answer as large as the request.
    violations.add(field, sizeProblem);
    return;
  }
  for (const [key, value] of Object.entries(selector)) {
    if (key === "" || key.includes("=") || key.includes("\0") || value.includes("\0")) {
      violations.add(`${field}[${JSON.stringify(key)}]`, "keys must be non-empty, without '=' or NUL");
    } else if (!isClientVisibleLabel(key)) {
      // Refused rather than ignored: selecting by a hidden label would tell its value.
      violations.add(`${field}[${JSON.stringify(key)}]`, `labels starting with "${reservedLabelPrefix}" are internal to Osiris; only ${managedLabel} can be selected`);
    }
  }
}
