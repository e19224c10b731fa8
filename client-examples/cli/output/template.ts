import { UsageError } from "../failures.js";

/**
 * The part of Go's text/template that `docker ... --format` is used with:
 * `{{.Field}}`, nested `{{.State.Health}}`, `{{json .}}`, `{{json .Labels}}`,
 * `{{.Label "com.example.key"}}`, `{{index .Labels "key"}}`, `{{upper .X}}`,
 * `{{lower .X}}`, `{{truncate .ID 5}}` and `{{join .List ", "}}`. `\t` and
 * `\n` written literally in the flag become a tab and a newline, as docker does.
 * No control structures (`if`, `range`): ask for JSON and use jq for those.
 */
export interface CompiledTemplate {
  render(data: unknown): string;
}

type Token = { kind: "path"; path: string[] } | { kind: "word"; word: string } | { kind: "literal"; value: string | number };

type Part = { text: string } | { tokens: Token[]; source: string };

const functions: Record<string, (args: unknown[]) => unknown> = {
  json: ([value]) => JSON.stringify(value ?? null),
  upper: ([value]) => String(value ?? "").toUpperCase(),
  lower: ([value]) => String(value ?? "").toLowerCase(),
  title: ([value]) => String(value ?? "").replace(/\b\w/g, (letter) => letter.toUpperCase()),
  truncate: ([value, length]) => [...String(value ?? "")].slice(0, Number(length)).join(""),
  join: ([list, separator]) => (Array.isArray(list) ? list.join(String(separator ?? "")) : String(list ?? "")),
  index: ([collection, key]) => (collection as Record<string, unknown> | undefined)?.[String(key)] ?? "",
  println: (args) => `${args.map(String).join(" ")}\n`,
};

export function compileTemplate(source: string): CompiledTemplate {
  const text = source.replaceAll("\\t", "\t").replaceAll("\\n", "\n");
  const parts: Part[] = [];
  let position = 0;
  while (position < text.length) {
    const open = text.indexOf("{{", position);
    if (open === -1) {
      parts.push({ text: text.slice(position) });
      break;
    }
    const close = text.indexOf("}}", open + 2);
    if (close === -1) throw new UsageError(`template: unclosed action in "${source}"`);
    if (open > position) parts.push({ text: text.slice(position, open) });
    const action = text.slice(open + 2, close).replace(/^-\s|\s-$/g, "").trim();
    parts.push({ tokens: tokenize(action, source), source: action });
    position = close + 2;
  }
  return { render: (data) => parts.map((part) => ("text" in part ? part.text : evaluate(part.tokens, data, part.source))).join("") };
}

function tokenize(action: string, source: string): Token[] {
  const tokens: Token[] = [];
  for (const [, quoted, word] of action.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    if (quoted !== undefined) tokens.push({ kind: "literal", value: JSON.parse(`"${quoted}"`) as string });
    else if (word === ".") tokens.push({ kind: "path", path: [] });
    else if (word!.startsWith(".")) tokens.push({ kind: "path", path: word!.slice(1).split(".") });
    else if (/^-?\d+$/.test(word!)) tokens.push({ kind: "literal", value: Number(word) });
    else if (word! in functions) tokens.push({ kind: "word", word: word! });
    else throw new UsageError(`template: function "${word}" not defined in "${source}"`);
  }
  if (tokens.length === 0) throw new UsageError(`template: missing value for command in "${source}"`);
  return tokens;
}

function evaluate(tokens: Token[], data: unknown, source: string): string {
  const [head, ...rest] = tokens;
  const args = rest.map((token) => value(token, data, source));
  let result: unknown;
  if (head!.kind === "word") result = functions[head!.word]!(args);
  else {
    result = value(head!, data, source);
    // A method such as `.Label "key"` is a function in the data.
    if (typeof result === "function") result = (result as (...args: unknown[]) => unknown)(...args);
    else if (args.length > 0) throw new UsageError(`template: ${source}: only functions take arguments`);
  }
  return display(result);
}

function value(token: Token, data: unknown, source: string): unknown {
  if (token.kind === "literal") return token.value;
  if (token.kind === "word") throw new UsageError(`template: ${source}: "${token.word}" must come first`);
  let current = data;
  for (const field of token.path) {
    if (current === null || typeof current !== "object" || !(field in current)) {
      const known = current !== null && typeof current === "object" ? Object.keys(current).join(", ") : "none";
      throw new UsageError(`template: can't evaluate field ${field} in "${source}" (fields: ${known})`);
    }
    current = (current as Record<string, unknown>)[field];
  }
  return current;
}

/** Go prints maps as map[k:v] and lists as [a b]; strings and numbers as themselves. */
function display(result: unknown): string {
  if (result === undefined || result === null) return "<no value>";
  if (Array.isArray(result)) return `[${result.map(display).join(" ")}]`;
  if (typeof result === "object") {
    const entries = Object.entries(result as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
    return `map[${entries.map(([key, entry]) => `${key}:${display(entry)}`).join(" ")}]`;
  }
  return String(result);
}

/**
 * `--format` as docker reads it: `table` or `table TEMPLATE` (a header row
 * and padded columns), `json` (one JSON object per line), or a template.
 */
export type OutputFormat = { kind: "table"; template: string } | { kind: "json" } | { kind: "template"; template: string };

export function parseFormat(format: string | undefined, defaultTable: string): OutputFormat {
  if (format === undefined || format === "" || format === "table") return { kind: "table", template: defaultTable };
  if (format === "json") return { kind: "json" };
  if (format.startsWith("table ")) return { kind: "table", template: format.slice("table ".length).trimStart() };
  return { kind: "template", template: format };
}
