/// <reference lib="dom" />
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { DockerService, Role as ProtoRole } from "../../../gen/osiris/docker/v1/docker_management_pb.js";

export type OsirisClient = Client<typeof DockerService>;
export type Role = "unknown" | "viewer" | "operator";

/** Session storage only: the token goes when the tab closes, and no other tab or later visit sees it. */
const tokenKey = "osiris.token";

export function savedToken(): string | undefined {
  return sessionStorage.getItem(tokenKey) ?? undefined;
}

export function saveToken(token: string | undefined): void {
  if (token) sessionStorage.setItem(tokenKey, token);
  else sessionStorage.removeItem(tokenKey);
}

/** Sends the saved token with every call, and reports calls the server refused for want of one. */
function credentials(onUnauthenticated: () => void): Interceptor {
  return (next) => async (request) => {
    const token = savedToken();
    if (token) request.header.set("authorization", `Bearer ${token}`);
    try {
      return await next(request);
    } catch (error) {
      if (error instanceof ConnectError && error.code === Code.Unauthenticated) onUnauthenticated();
      throw error;
    }
  };
}

/** A client of the server that served this page: same origin, so no CORS setup is needed. */
export function connect(onUnauthenticated: () => void): OsirisClient {
  return createClient(DockerService, createGrpcWebTransport({ baseUrl: location.origin, interceptors: [credentials(onUnauthenticated)] }));
}

/** What the caller may do, as the server says (WhoAmI); "unknown" when it cannot be asked. */
export async function probeRole(client: OsirisClient): Promise<Role> {
  try {
    const { role } = await client.whoAmI({});
    return role === ProtoRole.OPERATOR ? "operator" : role === ProtoRole.VIEWER ? "viewer" : "unknown";
  } catch {
    return "unknown";
  }
}
