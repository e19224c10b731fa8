import type { DescMethod } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { createContextKey, type ConnectError, type ContextValues, type Interceptor } from "@connectrpc/connect";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ServerReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { refusal } from "../rpc/errors.js";
import { clientCertificateKey, type ClientCertificate } from "./client-certificate.js";
import { principalForCertificate, principalForToken, type Principal, type TokenEntry } from "./tokens.js";

/** Who is calling, for handlers, audit and rate limits. Undefined when authentication is off. */
export const principalKey = createContextKey<Principal | undefined>(undefined);

/** Services anyone may call: probes and schema discovery carry no credentials. */
export const openServices: ReadonlySet<string> = new Set([
  Health.typeName,
  ServerReflectionV1.typeName,
  ServerReflectionV1alpha.typeName,
]);

/**
 * Whether a call may change the engine: it needs an operator, and is audited.
 * The proto says which RPCs only read: `option idempotency_level =
 * NO_SIDE_EFFECTS`, which a viewer may call (and Connect then also serves
 * over GET, for the unary ones).
 */
export function isMutating(request: { service: { typeName: string }; method: Pick<DescMethod, "idempotency"> }): boolean {
  return !openServices.has(request.service.typeName) && request.method.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;
}

/**
 * Requires `Authorization: Bearer <token>` on every RPC when tokens are
 * configured. gRPC metadata and HTTP headers arrive the same way here, so all
 * three protocols are checked alike.
 */
export function accessControlInterceptor(tokens: readonly TokenEntry[] | undefined): Interceptor {
  // Not async: an admitted call passes straight through, without an extra promise.
  return (next) => (request) => {
    const refusal = admit(request, tokens);
    return refusal ? Promise.reject(refusal) : next(request);
  };
}

/** Records who calls; returns the error that refuses the call, if it must be refused. */
function admit(request: Parameters<Parameters<Interceptor>[0]>[0], tokens: readonly TokenEntry[] | undefined): ConnectError | undefined {
  const caller = identify(request.header.get("authorization"), request.contextValues.get(clientCertificateKey), tokens);
  if (typeof caller === "object" && "role" in caller) request.contextValues.set(principalKey, caller);
  // Open services need no credentials, but a caller who sends them is still known (for limits and logs).
  if (openServices.has(request.service.typeName)) return undefined;
  if (typeof caller === "object" && "role" in caller) {
    return caller.role !== "operator" && isMutating(request)
      ? refusal("role-insufficient", `Principal ${JSON.stringify(caller.name)} has role ${caller.role}; ${request.method.name} needs role operator`)
      : undefined;
  }
  // Authentication is off (loopback, no tokens): a bearer token is ignored.
  if (tokens === undefined && (caller === "missing" || caller === "invalid")) return undefined;
  return unidentifiedRefusal(caller);
}

/** What a request gate sees of a call before its body is read. */
export interface CallBeforeBody {
  service: { typeName: string };
  requestHeader: Headers;
  values: ContextValues;
}

/**
 * The refusal accessControlInterceptor would give a caller who is nobody,
 * for a request gate to give before the body is read: a body of megabytes
 * from a caller without credentials is then never buffered. Only when tokens
 * are configured, and never for open services; roles are left to the
 * interceptor, which sees the whole call.
 */
export function refuseUnidentifiedCaller(call: CallBeforeBody, tokens: readonly TokenEntry[] | undefined): ConnectError | undefined {
  if (tokens === undefined || openServices.has(call.service.typeName)) return undefined;
  const caller = identify(call.requestHeader.get("authorization"), call.values.get(clientCertificateKey), tokens);
  return typeof caller === "object" && "role" in caller ? undefined : unidentifiedRefusal(caller);
}

function unidentifiedRefusal(caller: "missing" | "invalid" | { refusal: string }): ConnectError {
  if (caller === "missing") return refusal("credentials-missing", 'Missing credentials: send "Authorization: Bearer <token>"');
  if (caller === "invalid") return refusal("credentials-invalid", "Invalid bearer token");
  return refusal("credentials-invalid", caller.refusal);
}

/**
 * Who the caller is: a bearer token's principal, else the principal whose
 * token entry names the verified client certificate's CN (only a CA the
 * operator configured can have signed it). A certificate never gets a role by
 * itself: its CN may coincide with a viewer's name, or name nobody.
 * "missing" when it sent neither credential; otherwise why it is refused.
 */
function identify(
  authorization: string | null,
  certificate: ClientCertificate | undefined,
  tokens: readonly TokenEntry[] | undefined,
): Principal | "missing" | "invalid" | { refusal: string } {
  const bearer = /^Bearer[ ]+(\S+)$/i.exec(authorization ?? "")?.[1];
  const byToken = bearer !== undefined && tokens !== undefined ? principalForToken(tokens, bearer) : undefined;
  if (byToken) return byToken;
  if (certificate !== undefined) {
    const { commonName } = certificate;
    if (commonName === undefined) {
      return {
        refusal:
          'The client certificate has no single subject CN, and Osiris identifies certificates by CN; issue one whose CN an OSIRIS_TOKENS_FILE entry names in "clientCertificateCN"',
      };
    }
    return (
      principalForCertificate(tokens ?? [], commonName) ?? {
        refusal: `Client certificate CN ${JSON.stringify(commonName)} has no role: no OSIRIS_TOKENS_FILE entry names it in "clientCertificateCN"`,
      }
    );
  }
  return bearer === undefined ? "missing" : "invalid";
}
