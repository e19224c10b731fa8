import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { DockerService } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { UsageError } from "./failures.js";

export type OsirisClient = Client<typeof DockerService>;

/** server/settings/declaration.ts: OSIRIS_LISTEN defaults to 127.0.0.1:8080. */
export const defaultServerUrl = "http://127.0.0.1:8080";

export interface ServerOptions {
  url?: string;
  token?: string;
}

/** The server to talk to: --url, else OSIRIS_URL, else the server's default address. */
export function serverUrl(options: ServerOptions, env: Record<string, string | undefined>): string {
  const given = options.url ?? (env.OSIRIS_URL || undefined) ?? defaultServerUrl;
  // `127.0.0.1:8080` is how OSIRIS_LISTEN is written; accept it here too.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(given) ? given : `http://${given}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`invalid server URL "${given}": expected http://HOST:PORT or https://HOST:PORT`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`invalid server URL "${given}": the scheme must be http or https`);
  }
  return url.toString().replace(/\/$/, "");
}

export function serverToken(options: ServerOptions, env: Record<string, string | undefined>): string | undefined {
  return options.token ?? (env.OSIRIS_TOKEN || undefined);
}

/** A client over native gRPC (HTTP/2): one connection carries a command's unary calls and streams together. */
export function connectToOsiris(baseUrl: string, token: string | undefined): OsirisClient {
  const bearer: Interceptor = (next) => (request) => {
    if (token !== undefined) request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
  return createClient(DockerService, createGrpcTransport({ baseUrl, interceptors: [bearer] }));
}
