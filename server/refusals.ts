/**
 * Why Osiris declines a call before doing any of it. Each check says which
 * refusal it makes and why, in words a user can act on; rpc/errors.ts gives
 * every kind its status code, in one table the compiler checks.
 */
export type RefusalKind =
  /** Authentication is on and the call carries neither a bearer token nor a client certificate. */
  | "credentials-missing"
  /** A bearer token or client certificate that names no principal. */
  | "credentials-invalid"
  /** A known principal whose role may not make this call (a viewer calling an RPC that changes the engine). */
  | "role-insufficient"
  /** More calls per second than the caller's bucket allows. */
  | "rate-limited"
  /** More open streams than one principal may hold. */
  | "too-many-streams"
  /** More unary calls in flight than one principal may have. */
  | "too-many-calls-in-flight"
  /** A browser request from an origin not in OSIRIS_CORS_ORIGINS. */
  | "origin-not-allowed"
  /** A request declaring a body larger than its service ever needs (a health check of megabytes), refused before it is read. */
  | "request-too-large"
  /** A request addressed to a host name Osiris does not answer to (DNS rebinding). */
  | "host-not-allowed"
  /** A request that names no host at all. */
  | "host-missing"
  /** A health check for a service this server does not serve. */
  | "unknown-service"
  /** The server has started closing; the caller should go to another instance. */
  | "shutting-down";

export class RefusalError extends Error {
  constructor(
    readonly kind: RefusalKind,
    message: string,
  ) {
    super(message);
    this.name = "RefusalError";
  }
}
