/** Labels a container must carry; an empty value means "present, with any value". */
export type LabelSelector = Record<string, string>;

/**
 * The engine takes a selector in its request line and refuses request heads
 * over 1 MiB with HTTP 431. These bounds keep any selector far below that,
 * even fully URL-encoded (three bytes per byte), and are well above what a
 * selector of real labels needs.
 */
export const maxSelectorEntries = 64;
export const maxSelectorBytes = 32 * 1024;

/** What is wrong with a selector's size, if anything; stops counting at the first bound crossed. */
export function selectorSizeProblem(selector: LabelSelector): string | undefined {
  let entries = 0;
  let bytes = 0;
  for (const key in selector) {
    entries++;
    bytes += Buffer.byteLength(key) + Buffer.byteLength(selector[key]!);
    if (entries > maxSelectorEntries) return `must have at most ${maxSelectorEntries} entries`;
    if (bytes > maxSelectorBytes) return `keys and values must total at most ${maxSelectorBytes} bytes`;
  }
  return undefined;
}

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
