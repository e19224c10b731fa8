import assert from "node:assert/strict";
import { ConnectError } from "@connectrpc/connect";

/** Awaits a call that must fail and returns its error as the client sees it. */
export async function rpcError(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (error) {
    return ConnectError.from(error);
  }
  assert.fail("expected the call to fail");
}
