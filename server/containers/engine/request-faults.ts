import type Docker from "dockerode";
import http from "node:http";
import { engineRedirectCode } from "./engine-errors.js";

type Callback = (error: unknown, data?: unknown) => void;

/** docker-modem's request builder, which every engine call (dockerode's or engine-request.ts's) goes through. */
interface ModemRequestBuilder {
  buildRequest(options: Record<string, unknown>, context: unknown, data: unknown, callback: Callback): void;
}

/**
 * Every engine request fails into its caller's callback, whatever the engine
 * does; none can throw where nothing catches, and none can hang.
 *
 * - docker-modem (lib/http.js) follows 3xx answers itself: it re-dials the
 *   Location as a fresh request with no error handler. The engine's 301 for
 *   `/containers//web/json` pointed at `http://containers/web/json`, the DNS
 *   lookup of "containers" failed, and the unhandled error ended the process.
 *   The engine has no reason to redirect us, so each request carries
 *   docker-modem's own `maxRedirects: 0`: a redirect then fails the original
 *   request, which has a handler, and no second request is ever made.
 * - The builder runs inside a promise callback when the engine is a unix
 *   socket, where a synchronous throw would be an unhandled rejection.
 * - Requests go through the engine's own agent, see truncatedAnswersFail.
 *
 * This wraps docker-modem's buildRequest, which is not a public API: docker-modem
 * offers no hook for request options (its `agent` option exists, but neither
 * `maxRedirects` nor the callback can be reached otherwise). Check it when
 * upgrading dockerode; test/unit/engine-errors.test.ts covers both behaviours.
 */
export function containRequestFaults(docker: Docker): void {
  const modem = docker.modem as unknown as ModemRequestBuilder;
  const buildRequest = modem.buildRequest.bind(modem);
  const agent = truncatedAnswersFail(new http.Agent({ keepAlive: true, scheduling: "lifo", timeout: 5000 }));
  // docker-modem runs util.inspect(options, { depth: null }) on every request,
  // debug on or off: without this, each call would walk every open engine
  // socket and its buffers (seconds of CPU with a hundred log follows open).
  Object.defineProperty(agent, Symbol.for("nodejs.util.inspect.custom"), { value: () => "[engine agent]" });
  modem.buildRequest = (options, context, data, callback) => {
    let answered = false;
    const answer: Callback = (error, result) => {
      if (answered) return;
      answered = true;
      callback(isRedirectRefusal(error) ? redirectError(options) : error, result);
    };
    options.maxRedirects = 0;
    options.agent = agent;
    try {
      buildRequest(options, context, data, answer);
    } catch (error) {
      answer(error);
    }
  };
}

interface AgentRequestHook {
  addRequest(request: http.ClientRequest, options: object): void;
}

/**
 * When the engine drops a connection after its answer has begun (dockerd
 * restarting during a wait), Node closes the response without an error, and
 * docker-modem, which waits for the body's 'end', never calls back: the call
 * would hang until its caller gave up. An agent sees every request it
 * carries (Agent#addRequest, as proxy agents use it), so the engine's agent
 * turns a truncated answer into an error on the request, where docker-modem
 * listens. A request already answered or aborted ignores it.
 */
function truncatedAnswersFail(agent: http.Agent): http.Agent {
  const hook = agent as unknown as AgentRequestHook;
  const addRequest = hook.addRequest.bind(agent);
  hook.addRequest = (request, options) => {
    request.once("response", (response: http.IncomingMessage) => {
      response.once("close", () => {
        if (response.complete) return;
        // After the abort error a cancelled call emits itself, which then wins.
        setImmediate(() => {
          if (request.listenerCount("error") > 0) {
            request.emit("error", Object.assign(new Error("the engine closed the connection before its answer was complete"), { code: "ECONNRESET" }));
          }
        });
      });
    });
    addRequest(request, options);
  };
  return agent;
}

function isRedirectRefusal(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("Max redirects exceeded");
}

function redirectError(options: Record<string, unknown>): Error {
  const path = String(options.path ?? "").split("?")[0];
  return Object.assign(new Error(`the engine answered ${path} with a redirect, which Osiris never follows`), {
    code: engineRedirectCode,
  });
}
