import type { FastifyInstance, FastifyRequest } from "fastify";
import { isIP } from "node:net";
import { sendConnectError } from "./rpc/error-mapping.js";
import { refusal } from "./rpc/errors.js";

/**
 * Refuses requests addressed to a host name Osiris does not answer to, against
 * DNS rebinding: a web page on evil.example can point its own name at
 * 127.0.0.1, and the browser then lets the page read answers from Osiris as if
 * same-origin (no Origin header is sent on same-origin requests, so the
 * browser-origins check never fires). The name it used stays in the Host
 * header (`:authority` over HTTP/2), and that is what this checks.
 *
 * Accepted always: IP addresses (a page whose origin is an IP address cannot
 * be the attacker's own name), `localhost` and `*.localhost` (RFC 6761: they
 * never leave the machine), and the names in OSIRIS_ALLOWED_HOSTS.
 *
 * Checked on connections that arrived at a loopback address, whatever the
 * listen address (a 0.0.0.0 listener is reached through 127.0.0.1 too), and on
 * every connection once OSIRIS_ALLOWED_HOSTS is set. Left alone otherwise: a
 * remote listener has no list of the names it is reached by, and needs tokens,
 * which a rebinding page does not have. When the local address cannot be read
 * (the connection already went away), the request is checked: strict when unknown.
 */
export function registerHostCheck(app: FastifyInstance, allowedHosts: readonly string[]): void {
  const allowed = new Set(allowedHosts.map((name) => name.toLowerCase()));
  app.addHook("onRequest", async (request, reply) => {
    const authorities = authoritiesOf(request);
    // RFC 9112 section 3.2: an HTTP/1.1 request without Host is answered 400.
    // Node's TLS server with HTTP/1.1 fallback does not check it, and
    // connect-node would fail on it deep inside, answering 200 with no body.
    if (authorities.length === 0) {
      await sendConnectError(request, reply, refusal("host-missing", "The request names no host: send a Host header (HTTP/1.1) or :authority (HTTP/2)"));
      return;
    }
    if (allowed.size === 0 && !arrivedOnLoopback(request)) return;
    for (const authority of authorities) {
      const name = hostName(authority);
      if (name !== undefined && (isIP(name) !== 0 || isLocalhost(name) || allowed.has(name))) continue;
      await sendConnectError(
        request,
        reply,
        refusal(
          "host-not-allowed",
          `Host ${JSON.stringify(authority.slice(0, 200))} is not a name this server answers to; address it by IP address or localhost, or add the name to OSIRIS_ALLOWED_HOSTS`,
        ),
      );
      return;
    }
  });
}

/** Every name the request was addressed by; HTTP/2 clients may send Host beside :authority, and both must pass. */
function authoritiesOf(request: FastifyRequest): string[] {
  const headers = request.raw.headers;
  return [headers[":authority"], headers.host].filter((value): value is string => typeof value === "string");
}

/** The lowercase name or address without port, brackets or trailing dot; undefined when malformed. */
function hostName(authority: string): string | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]@/\s]*))(?::\d*)?$/.exec(authority);
  const name = match?.[1] ?? match?.[2];
  return name === undefined || name === "" ? undefined : name.toLowerCase().replace(/\.$/, "");
}

function isLocalhost(name: string): boolean {
  return name === "localhost" || name.endsWith(".localhost");
}

function arrivedOnLoopback(request: FastifyRequest): boolean {
  let address: string | undefined;
  try {
    address = request.raw.socket.localAddress;
  } catch {
    // An HTTP/2 request's socket throws once its session has closed.
    return true;
  }
  if (address === undefined) return true;
  return address === "::1" || /^(::ffff:)?127\./i.test(address);
}
