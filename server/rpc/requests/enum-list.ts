import type { GenEnum } from "@bufbuild/protobuf/codegenv2";
import type { Violations } from "./violations.js";

/**
 * The distinct domain values of a repeated enum field, in first-seen order.
 * A filter names each value at most once, so a list longer than the enum has
 * named values is refused whole, with one violation: a 4 MiB binary request
 * holds millions of entries, and the domain would keep them and scan them for
 * every event or container. Repeats within that bound are dropped.
 */
export function distinctEnumValues<D extends string>(
  field: string,
  values: readonly number[],
  schema: GenEnum<number>,
  toDomain: (value: number) => D | undefined,
  refusal: string,
  violations: Violations,
): D[] {
  const named = schema.values.filter((value) => value.number !== 0).length;
  if (values.length > named) {
    violations.add(field, `has ${values.length} entries; at most ${named}, each ${schema.name} value once`);
    return [];
  }
  const distinct = new Set<D>();
  values.forEach((value, index) => {
    const name = toDomain(value);
    if (name === undefined) violations.add(`${field}[${index}]`, `${refusal} ${value}`);
    else distinct.add(name);
  });
  return [...distinct];
}
