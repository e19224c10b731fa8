import { createContextKey, createContextValues, type ContextValues } from "@connectrpc/connect";
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { TLSSocket } from "node:tls";

/** A client certificate the TLS handshake verified. */
export interface ClientCertificate {
  /** The subject's single CN; undefined when it has none, or several (no usable identity). */
  commonName: string | undefined;
}

/** The client certificate the TLS handshake verified, if any; access control reads it. */
export const clientCertificateKey = createContextKey<ClientCertificate | undefined>(undefined);

/**
 * Puts a verified client certificate where the access-control interceptor
 * finds it. With OSIRIS_TLS_CLIENT_CA the handshake has already refused
 * unverified certificates; `authorized` is checked again regardless.
 */
export function clientCertificateContext(request: IncomingMessage | Http2ServerRequest): ContextValues {
  const values = createContextValues();
  try {
    const socket = request.socket as Partial<TLSSocket>;
    if (socket.authorized === true && typeof socket.getPeerCertificate === "function") {
      const commonName: unknown = socket.getPeerCertificate().subject?.CN;
      values.set(clientCertificateKey, { commonName: typeof commonName === "string" && commonName !== "" ? commonName : undefined });
    }
  } catch {
    // The connection closed before the call was routed (an HTTP/2 request's
    // socket then throws); without a certificate the call is refused, if it needs one.
  }
  return values;
}
