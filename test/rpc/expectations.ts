// Small readers of answers, shared by the test/rpc specifications.
import { ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";

export { rpcError } from "../support/rpc-assertions.js";

/** The fields a BadRequest detail names, sorted. */
export function badRequestFields(error: ConnectError): string[] {
  return error.findDetails(BadRequestSchema).flatMap((detail) => detail.fieldViolations.map((violation) => violation.field)).sort();
}

/** Every message of a server stream, once it ends. */
export async function collect<T>(messages: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const message of messages) all.push(message);
  return all;
}

/** Reads a server stream that must fail, and returns its error as the client sees it. */
export async function streamError(messages: AsyncIterable<unknown>): Promise<ConnectError> {
  try {
    for await (const _ of messages) {
      // Messages before the failure do not matter here.
    }
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the stream to fail");
}

/** Polls until `check` holds, at most `timeoutMs`; for what the server settles after answering. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return check();
}

export const testImage = "osiris-test/busybox:latest";
