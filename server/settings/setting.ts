/**
 * The building blocks of the settings declaration: a `variable` is one
 * environment variable (one row of --help and of the README table), a `section`
 * gathers variables into one Config field such as `runPolicy` or `tls`.
 */

export type Environment = Readonly<Record<string, string | undefined>>;

/** Where a variable is listed in --help and the README, in this order. */
export const groups = ["Serving", "Security", "Limits", "Housekeeping"] as const;
export type Group = (typeof groups)[number];

/** A setting with a bad value; main prints it and exits before listening. */
export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    problem: string,
  ) {
    super(`${setting}: ${problem}`);
    this.name = "ConfigError";
  }
}

/** What a parser throws: the problem with a value. The variable's reader adds the variable's name. */
export class InvalidValue extends Error {}

export interface Variable<T> {
  readonly kind: "variable";
  readonly name: string;
  readonly group: Group;
  /** One paragraph; `backticks` mark code. */
  readonly description: string;
  /** How the default reads in --help and the README; `backticks` mark code. */
  readonly shownDefault: string;
  read(env: Environment): T;
}

interface VariableSpec<T> {
  group: Group;
  description: string;
  parse(value: string): T;
  /** An empty value is refused instead of meaning the default (kept from before the declaration existed). */
  refuseEmpty?: true;
}

/**
 * One environment variable. `default` is either a value as an operator would
 * write it, parsed like one (so the documented default is the real one), or a
 * function for defaults that depend on the machine; without a default, an
 * unset variable reads as undefined. Unset and empty are the same unless
 * `refuseEmpty` is given.
 */
export function variable<T>(name: string, spec: VariableSpec<T> & { default: string; shownDefault?: string }): Variable<T>;
export function variable<T>(name: string, spec: VariableSpec<T> & { default: () => T; shownDefault: string }): Variable<T>;
export function variable<T>(name: string, spec: VariableSpec<T> & { shownDefault: string }): Variable<T | undefined>;
export function variable<T>(
  name: string,
  spec: VariableSpec<T> & { default?: string | (() => T); shownDefault?: string },
): Variable<T | undefined> {
  const fallback = spec.default;
  return {
    kind: "variable",
    name,
    group: spec.group,
    description: spec.description,
    shownDefault: spec.shownDefault ?? `\`${String(fallback)}\``,
    read(env) {
      const value = env[name];
      if (value === undefined || (value === "" && !spec.refuseEmpty)) {
        if (typeof fallback === "function") return fallback();
        return fallback === undefined ? undefined : parseAs(name, fallback, spec.parse);
      }
      return parseAs(name, value, spec.parse);
    },
  };
}

function parseAs<T>(name: string, value: string, parse: (value: string) => T): T {
  try {
    return parse(value);
  } catch (error) {
    if (error instanceof InvalidValue) throw new ConfigError(name, error.message);
    throw error;
  }
}

export interface Section<T> {
  readonly kind: "section";
  readonly members: Declaration;
  assemble(values: never): T;
}

export interface Declaration {
  readonly [field: string]: Variable<unknown> | Section<unknown>;
}

type ValueOf<Entry> = Entry extends Variable<infer T> ? T : Entry extends Section<infer T> ? T : never;
type Flatten<T> = { [K in keyof T]: T[K] };

/** The typed values a declaration reads; a field that may be undefined is optional. */
export type Values<D extends Declaration> = Flatten<
  { [K in keyof D as undefined extends ValueOf<D[K]> ? never : K]: ValueOf<D[K]> } & {
    [K in keyof D as undefined extends ValueOf<D[K]> ? K : never]?: ValueOf<D[K]>;
  }
>;

/**
 * Variables read into one object field. `assemble` shapes their values and
 * checks settings that only make sense together; it throws ConfigError.
 */
export function section<D extends Declaration>(members: D): Section<Values<D>>;
export function section<D extends Declaration, T>(members: D, assemble: (values: Values<D>) => T): Section<T>;
export function section<D extends Declaration, T>(members: D, assemble?: (values: Values<D>) => T): Section<T | Values<D>> {
  return { kind: "section", members, assemble: assemble ?? ((values: Values<D>) => values) };
}

/** Reads every variable of a declaration from the environment, in declaration order. */
export function readValues<D extends Declaration>(declaration: D, env: Environment): Values<D> {
  const values: Record<string, unknown> = {};
  for (const [field, entry] of Object.entries(declaration)) {
    values[field] = entry.kind === "variable" ? entry.read(env) : (entry.assemble as (values: unknown) => unknown)(readValues(entry.members, env));
  }
  return values as Values<D>;
}

/** Every variable of a declaration, sections included, in declaration order. */
export function variablesOf(declaration: Declaration): Variable<unknown>[] {
  return Object.values(declaration).flatMap((entry) => (entry.kind === "variable" ? [entry] : variablesOf(entry.members)));
}
