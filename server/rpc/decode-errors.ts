// Request bodies the server cannot decode are the client's fault, on every
// protocol. connect-es decodes a request before any interceptor or handler
// runs, answers some such bodies INTERNAL, and its JSON errors name no field;
// this file gives them INVALID_ARGUMENT and a google.rpc.BadRequest.
import { create, type DescEnum, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { undecodableRequest } from "./errors.js";
import type { FieldViolation } from "./requests/violations.js";

/**
 * A request gate: runs for every call, before its body is read. On any
 * failure, connect-es calls `context.abort` with the very error it is about
 * to send, before it serialises it (every protocol's handler does
 * `context.abort(error)` first), so wrapping that method lets us correct the
 * error in place. Wrapping the method rather than listening to the signal
 * also covers a call whose deadline fired first (`grpc-timeout: 0S`): its
 * signal is already aborted and would never fire again.
 */
export function classifyDecodeFailures(context: HandlerContext): void {
  if (context.requestMethod === "GET") refuseUndecodableQuery(context.url);
  const input = context.method.input;
  // `abort` is on every handler context connect-es makes, but not in its public type.
  const abortable = context as HandlerContext & { abort?: (reason?: unknown) => void };
  const abort = abortable.abort?.bind(context);
  if (abort === undefined) {
    context.signal.addEventListener("abort", () => classifyDecodeFailure(context.signal.reason, input), { once: true });
    return;
  }
  abortable.abort = (reason?: unknown) => {
    classifyDecodeFailure(reason, input);
    abort(reason);
  };
}

/**
 * A Connect GET carries its request in the query (`message`, base64 when
 * `base64=1`). connect-es decodes it after this gate and answers a message
 * that is not base64 INTERNAL, with an error no abort can correct in place
 * (base64Decode throws a plain Error), so it is refused here first. The query
 * is as short as the request line allows, so decoding it twice costs little.
 */
function refuseUndecodableQuery(url: string): void {
  let query: URLSearchParams;
  try {
    query = new URL(url).searchParams;
  } catch {
    return;
  }
  if (query.get("base64") !== "1") return;
  try {
    base64Decode(query.get("message") ?? "");
  } catch {
    throw undecodableRequest('The query parameter "message" is not base64, and base64=1 says it is; send it base64url-encoded');
  }
}

/** zlib's "unexpected end of file": a truncated gzip or brotli body, which connect-node answers INTERNAL. */
const truncatedCompressionCodes = new Set(["Z_BUF_ERROR"]);

/**
 * Turns a decode failure connect-es reports as INTERNAL into INVALID_ARGUMENT,
 * and, when the request's schema is known, adds a BadRequest naming the JSON
 * field. Any other error is left as it is: a failure to encode a response, or
 * anything thrown by our own code, stays INTERNAL. Idempotent.
 */
export function classifyDecodeFailure(error: unknown, input?: DescMessage): void {
  if (!(error instanceof ConnectError)) return;
  if (error.code === Code.Internal && isUndecodableBody(error)) {
    reclassify(error);
    return;
  }
  if (error.code === Code.InvalidArgument && input !== undefined && error.details.length === 0) {
    const violations = jsonViolations(error.rawMessage, error.cause, input);
    if (violations.length > 0) {
      error.details.push({ desc: BadRequestSchema, value: create(BadRequestSchema, { fieldViolations: violations }) });
    }
  }
}

function isUndecodableBody(error: ConnectError): boolean {
  const message = error.rawMessage;
  if (message.startsWith("parse binary: ")) return true;
  // A message flagged compressed on a call that named no compression.
  if (message === "received compressed envelope, but do not know how to decompress") return true;
  const causeCode = (error.cause as { code?: unknown } | undefined)?.code;
  return message === "decompression failed" && typeof causeCode === "string" && truncatedCompressionCodes.has(causeCode);
}

/** ConnectError's code and message are set once in its constructor; connect-es sends the same object on, so it changes in place. */
function reclassify(error: ConnectError): void {
  const { code, message } = undecodableRequest(error.rawMessage);
  const writable = error as { code: Code; message: string };
  writable.code = code;
  writable.message = message;
}

/**
 * @bufbuild/protobuf's fromJson names the message, enum or field it failed
 * on, but not where in the request that is. The path is found from the
 * request's schema: field names as in the proto, and repeated fields without
 * an index (`ports.protocol`), since the failing element is not reported.
 */
function jsonViolations(message: string, cause: unknown, input: DescMessage): FieldViolation[] {
  const member = failedMember(cause);
  if (member !== undefined) {
    const reason = message.replace(/^cannot decode [^:]* from JSON: /, "");
    return messagePaths(input, member.parent.typeName).map((path) => ({ field: join(path, member.name), description: shorten(reason) }));
  }
  const unknownKey = /^cannot decode message (\S+) from JSON: key "(.*)" is unknown$/s.exec(message);
  if (unknownKey) {
    const [, typeName, key] = unknownKey as unknown as [string, string, string];
    return messagePaths(input, typeName).map((path) => ({
      field: join(path, shorten(key)),
      description: `unknown field ${JSON.stringify(shorten(key))} in ${typeName}${suggestion(input, typeName, key)}`,
    }));
  }
  const duplicateKey = /^cannot decode message (\S+) from JSON: duplicate object key "(.*)"$/s.exec(message);
  if (duplicateKey) {
    const [, typeName, key] = duplicateKey as unknown as [string, string, string];
    return messagePaths(input, typeName).map((path) => ({ field: join(path, shorten(key)), description: "is set more than once" }));
  }
  const badEnum = /^cannot decode enum (\S+) from JSON: (.*)$/s.exec(message);
  if (badEnum) {
    const [, typeName, value] = badEnum as unknown as [string, string, string];
    let names = "";
    const paths = pathsTo(input, (candidate) => {
      const found = enumOf(candidate);
      if (found?.typeName !== typeName) return false;
      names = found.values.map((v) => v.name).join(", ");
      return true;
    });
    return paths.map((path) => ({
      field: path,
      description: `${shorten(value)} is not a value of ${typeName}; use one of ${names} (proto3 JSON spells enum values in full) or its number`,
    }));
  }
  const badMessage = /^cannot decode message (\S+) from JSON: (.*)$/s.exec(message);
  if (badMessage) {
    const [, typeName, reason] = badMessage as unknown as [string, string, string];
    // The request itself not being an object, or not JSON at all, names no field.
    if (typeName === input.typeName) return [];
    return messagePaths(input, typeName).map((path) => ({ field: path, description: `is not a valid ${typeName}: ${shorten(reason)}` }));
  }
  return [];
}

/** The field or oneof a protobuf-es FieldError (the cause of fromJson's error) names. */
function failedMember(cause: unknown): { parent: DescMessage; name: string } | undefined {
  const fieldError = (cause as { cause?: { field?: unknown } } | undefined)?.cause;
  if (typeof fieldError?.field !== "function") return undefined;
  const member = (fieldError.field as () => { kind?: string; parent?: DescMessage; name?: string } | undefined)();
  if ((member?.kind !== "field" && member?.kind !== "oneof") || member.parent === undefined || member.name === undefined) return undefined;
  return { parent: member.parent, name: member.name };
}

function messageOf(field: DescField): DescMessage | undefined {
  switch (field.fieldKind) {
    case "message":
      return field.message;
    case "list":
      return field.listKind === "message" ? field.message : undefined;
    case "map":
      return field.mapKind === "message" ? field.message : undefined;
    default:
      return undefined;
  }
}

function enumOf(field: DescField): DescEnum | undefined {
  switch (field.fieldKind) {
    case "enum":
      return field.enum;
    case "list":
      return field.listKind === "enum" ? field.enum : undefined;
    case "map":
      return field.mapKind === "enum" ? field.enum : undefined;
    default:
      return undefined;
  }
}

/** The paths of every field below `root` that `matches`, depth first, each message type visited once per path. */
function pathsTo(root: DescMessage, matches: (field: DescField) => boolean): string[] {
  const paths: string[] = [];
  const walk = (message: DescMessage, prefix: string, seen: Set<DescMessage>) => {
    for (const field of message.fields) {
      const path = join(prefix, field.name);
      if (matches(field)) paths.push(path);
      const nested = messageOf(field);
      if (nested && !seen.has(nested)) walk(nested, path, new Set([...seen, nested]));
    }
  };
  walk(root, "", new Set([root]));
  return paths;
}

/** Where messages of a type sit in the request: "" for the request itself. */
function messagePaths(root: DescMessage, typeName: string): string[] {
  if (root.typeName === typeName) return [""];
  return pathsTo(root, (field) => messageOf(field)?.typeName === typeName);
}

/** Keys and values come from the client and may be megabytes; a violation quotes only their start. */
function shorten(text: string): string {
  return text.length > 100 ? `${text.slice(0, 100)}...` : text;
}

function join(prefix: string, name: string): string {
  return prefix === "" ? name : `${prefix}.${name}`;
}

/** "; did you mean name?" when a field of the message is one typo away from the key. */
function suggestion(root: DescMessage, typeName: string, key: string): string {
  let message = typeName === root.typeName ? root : undefined;
  pathsTo(root, (field) => {
    if (messageOf(field)?.typeName === typeName) message = messageOf(field);
    return false;
  });
  const close = message?.fields.find((f) => [f.name, f.jsonName].some((name) => editDistance(name.toLowerCase(), key.toLowerCase()) <= 2));
  return close ? `; did you mean ${JSON.stringify(close.jsonName)}?` : "";
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || a.length > 64 || b.length > 64) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
