import Docker from "dockerode";

/** A dockerode client together with the endpoint it talks to, for error messages. */
export interface Engine {
  docker: Docker;
  endpoint: string;
}

export const defaultEngineEndpoint = "unix:///var/run/docker.sock";

/**
 * Connects to `unix:///path`, `tcp://host:port` or `http://host:port`, the
 * forms DOCKER_HOST takes. Nothing is dialled until the first call.
 */
export function connectEngine(endpoint: string = defaultEngineEndpoint): Engine {
  return { docker: new Docker(engineOptions(endpoint)), endpoint };
}

export function engineOptions(endpoint: string): Docker.DockerOptions {
  const url = new URL(endpoint);
  switch (url.protocol) {
    case "unix:":
      return { socketPath: decodeURIComponent(url.pathname) };
    case "tcp:":
    case "http:":
      return { protocol: "http", host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || 2375) };
    default:
      throw new Error(`unsupported engine endpoint ${JSON.stringify(endpoint)}: use unix://, tcp:// or http://`);
  }
}
