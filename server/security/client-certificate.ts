import { createContextValues, type ContextValues } from "@connectrpc/connect";
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { TLSSocket } from "node:tls";
import { clientCertificateKey } from "./access-control.js";

/**
 * Puts the subject of a verified client certificate where the access-control
 * interceptor finds it. With OSIRIS_TLS_CLIENT_CA the handshake has already
 * refused unverified certificates; `authorized` is checked again regardless.
 */
export function clientCertificateContext(request: IncomingMessage | Http2ServerRequest): ContextValues {
  const values = createContextValues();
  const socket = request.socket as Partial<TLSSocket>;
  if (socket.authorized === true && typeof socket.getPeerCertificate === "function") {
    const subject = socket.getPeerCertificate().subject;
    const commonName = subject?.CN;
    if (typeof commonName === "string" && commonName !== "") values.set(clientCertificateKey, commonName);
  }
  return values;
}
