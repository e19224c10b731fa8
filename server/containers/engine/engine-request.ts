import type { Duplex, Readable } from "node:stream";
import type Docker from "dockerode";

export interface EngineRequest {
  method: "GET" | "POST" | "DELETE";
  /** API path ending in "?" as docker-modem expects, e.g. `/containers/create?`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: object;
  /** Every status the caller treats as success. */
  okStatuses: number[];
  abortSignal?: AbortSignal;
}

interface Modem {
  dial(options: object, callback: (error: unknown, data: unknown) => void): void;
}

/**
 * A raw engine call, for the places where dockerode drops part of the answer
 * (create's Warnings) or does not forward an abort signal (image inspect).
 * Failures look exactly like dockerode's, so engine-errors.ts handles both.
 */
export function requestEngine<T>(docker: Docker, request: EngineRequest): Promise<T> {
  return dial<T>(docker, request, false);
}

/**
 * Like requestEngine, but resolves with the response body as a stream once the
 * headers arrive (logs, events). Aborting the signal closes the connection.
 */
export function streamFromEngine(docker: Docker, request: EngineRequest): Promise<Readable> {
  return dial<Readable>(docker, request, true);
}

/**
 * Like requestEngine, but asks the engine to upgrade the connection
 * (`Upgrade: tcp`) and resolves with it once the engine answers 101: a raw
 * duplex for protocols that outgrow HTTP (exec start). Aborting the signal
 * before the upgrade fails the call; after it, the caller owns the connection
 * and must destroy it.
 */
export function upgradeEngineConnection(docker: Docker, request: EngineRequest): Promise<Duplex> {
  return dial<Duplex>(docker, request, true, true);
}

function dial<T>(docker: Docker, request: EngineRequest, isStream: boolean, hijack = false): Promise<T> {
  const statusCodes: Record<number, true> = {};
  for (const status of request.okStatuses) statusCodes[status] = true;
  const query = Object.fromEntries(Object.entries(request.query ?? {}).filter(([, value]) => value !== undefined));
  const modem = docker.modem as Modem;
  return new Promise<T>((resolve, reject) => {
    modem.dial(
      {
        path: request.path,
        method: request.method,
        options: { _query: query, _body: request.body ?? {} },
        statusCodes,
        isStream,
        hijack,
        abortSignal: request.abortSignal,
      },
      (error, data) => (error ? reject(error) : resolve(data as T)),
    );
  });
}
