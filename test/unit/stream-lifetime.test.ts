import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { streamLifetimeInterceptor } from "../../server/rpc/routes.js";

type Next = Parameters<Interceptor>[0];
type Request = Parameters<Next>[0];

/** A server-streaming call whose handler yields forever and records when its finally block runs. */
async function streamingCall(signal: AbortSignal) {
  const handler = { cleanedUp: false };
  async function* messages() {
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      handler.cleanedUp = true;
    }
  }
  const next = (async () => ({ stream: true, message: messages() })) as unknown as Next;
  const request = { method: { methodKind: "server_streaming" }, signal } as unknown as Request;
  const response = (await streamLifetimeInterceptor()(next)(request)) as unknown as { message: AsyncIterable<number> };
  return { handler, iterator: response.message[Symbol.asyncIterator]() };
}

describe("streamLifetimeInterceptor", () => {
  it("runs the handler's finally blocks when the call's signal fires, though nobody asks for the next message", async () => {
    const call = new AbortController();
    const { handler, iterator } = await streamingCall(call.signal);
    assert.deepEqual(await iterator.next(), { done: false, value: 0 });
    // The transport is now stuck writing message 0 and will not call next() again.
    call.abort();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(handler.cleanedUp, true);
    const error = ConnectError.from(await iterator.next().catch((e: unknown) => e));
    assert.equal(error.code, Code.Canceled);
  });

  it("ends the call with the signal's own reason when it has one (a deadline, a shutdown)", async () => {
    const call = new AbortController();
    const { iterator } = await streamingCall(call.signal);
    await iterator.next();
    call.abort(new ConnectError("shutting down", Code.Unavailable));
    const error = ConnectError.from(await iterator.next().catch((e: unknown) => e));
    assert.equal(error.code, Code.Unavailable);
  });

  it("closes the handler, rather than throwing into it, when the transport reports a failed write", async () => {
    const { handler, iterator } = await streamingCall(new AbortController().signal);
    await iterator.next();
    await assert.rejects(iterator.throw!(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })), (error: unknown) => ConnectError.from(error).code === Code.Canceled);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(handler.cleanedUp, true);
  });
});
