/** Labels a container must carry; an empty value means "present, with any value". */
export type LabelSelector = Record<string, string>;

export function matchesLabels(labels: Record<string, string>, selector: LabelSelector): boolean {
  for (const [key, value] of Object.entries(selector)) {
    const actual = labels[key];
    if (actual === undefined || (value !== "" && actual !== value)) return false;
  }
  return true;
}

/** The engine's `label` filter values for a selector: `key` or `key=value`. */
export function engineLabelFilters(selector: LabelSelector): string[] {
  return Object.entries(selector).map(([key, value]) => (value === "" ? key : `${key}=${value}`));
}
