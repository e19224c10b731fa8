import { abortReason } from "./abortable.js";
import type { Engine } from "./engine.js";
import { pullFailure, translateEngineError } from "./engine-errors.js";
import { requestEngine } from "./engine-request.js";
import { localImageName, pullTarget, type ImageReference } from "./image-reference.js";
import type { RegistryCredentials } from "./run-spec.js";

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

export class ImagePuller {
  constructor(private readonly engine: Engine) {}

  /**
   * Pulls and resolves only when the engine says the pull finished. The engine
   * answers 200 before it knows the outcome and reports failures as an
   * `error` line inside the stream; those become errors here, never success.
   */
  async pull(
    reference: ImageReference,
    credentials: RegistryCredentials | undefined,
    signal: AbortSignal,
    onProgress?: (progress: PullProgress) => void,
  ): Promise<PullResult> {
    const image = reference.original;
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.engine.docker.createImage(registryAuthConfig(credentials), {
        ...pullTarget(reference),
        abortSignal: signal,
      });
    } catch (error) {
      if (signal.aborted) throw abortReason(signal);
      throw translateEngineError(error, { kind: "pull-image", image }, this.engine.endpoint);
    }
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
      if (signal.aborted) throw abortReason(signal);
      throw translateEngineError(error, { kind: "pull-image", image }, this.engine.endpoint);
    } finally {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    }
    if (failure) throw failure;
    const inspect = await this.inspectImage(reference, signal);
    return { imageId: inspect.Id, digest };
  }

  /** dockerode's image inspect drops abortSignal, so this goes through requestEngine. */
  private async inspectImage(reference: ImageReference, signal: AbortSignal): Promise<{ Id: string }> {
    try {
      return await requestEngine<{ Id: string }>(this.engine, {
        method: "GET",
        path: `/images/${localImageName(reference)}/json?`,
        okStatuses: [200],
        abortSignal: signal,
      });
    } catch (error) {
      throw translateEngineError(error, { kind: "inspect-image", image: reference.original }, this.engine.endpoint);
    }
  }
}

function registryAuthConfig(credentials: RegistryCredentials | undefined): object | undefined {
  if (!credentials) return undefined;
  return {
    username: credentials.username,
    password: credentials.password,
    identitytoken: credentials.identityToken,
    serveraddress: credentials.serverAddress,
  };
}
