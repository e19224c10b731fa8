import type { Readable } from "node:stream";
import { engineCall, engineFailure } from "../engine/engine-call.js";
import type { EngineClient, RegistryAuth } from "../engine/engine-client.js";
import { pullFailure } from "../engine/engine-errors.js";
import { localImageName, pullTarget, type ImageReference } from "../grammar/image-reference.js";
import type { RegistryCredentials } from "../run-spec.js";

export interface PullProgress {
  layerId: string;
  status: string;
  current: number;
  total: number;
}

export interface PullResult {
  imageId: string;
  /** The repository digest the registry served, when it reported one. */
  digest?: string;
}

/** One line of the engine's pull progress stream. */
interface PullStreamLine {
  id?: string;
  status?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Pulls and resolves only when the engine says the pull finished. The engine
 * answers 200 before it knows the outcome and reports failures as an `error`
 * line inside the stream; those become errors here, never success.
 */
export async function pullImage(
  engine: EngineClient,
  reference: ImageReference,
  credentials: RegistryCredentials | undefined,
  signal: AbortSignal,
  onProgress?: (progress: PullProgress) => void,
): Promise<PullResult> {
  const image = reference.original;
  const operation = { kind: "pull-image", image } as const;
  const stream: Readable = await engineCall(engine, operation, signal, () =>
    engine.pullImage(pullTarget(reference), registryAuth(credentials), signal),
  );
  let digest: string | undefined;
  // Returns the failure an error line reports, so it is not mistaken for a transport error.
  const readLine = (line: string): Error | undefined => {
    if (line.trim() === "") return undefined;
    let parsed: PullStreamLine;
    try {
      parsed = JSON.parse(line) as PullStreamLine;
    } catch {
      return undefined;
    }
    if (parsed.error !== undefined || parsed.errorDetail?.message !== undefined) {
      return pullFailure(image, undefined, parsed.errorDetail?.message ?? parsed.error ?? "unknown error");
    }
    const status = parsed.status ?? "";
    const digestMatch = /^Digest: (\S+)/.exec(status);
    if (digestMatch) digest = digestMatch[1];
    onProgress?.({
      layerId: parsed.id ?? "",
      status,
      current: parsed.progressDetail?.current ?? 0,
      total: parsed.progressDetail?.total ?? 0,
    });
    return undefined;
  };
  let failure: Error | undefined;
  let pending = "";
  try {
    for await (const chunk of stream) {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) failure ??= readLine(line);
      if (failure) break;
    }
    failure ??= readLine(pending);
  } catch (error) {
    throw engineFailure(engine, operation, signal, error);
  } finally {
    stream.destroy();
  }
  if (failure) throw failure;
  const inspect = await engineCall(engine, { kind: "inspect-image", image }, signal, () =>
    engine.inspectImage(localImageName(reference), signal),
  );
  return { imageId: inspect.Id, digest };
}

/** The engine's X-Registry-Auth for a pull's credentials. */
function registryAuth(credentials: RegistryCredentials | undefined): RegistryAuth | undefined {
  if (!credentials) return undefined;
  return {
    username: credentials.username,
    password: credentials.password,
    identitytoken: credentials.identityToken,
    serveraddress: credentials.serverAddress,
  };
}
