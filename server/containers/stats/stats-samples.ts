import type { Readable } from "node:stream";
import type { EngineContainerStats } from "../engine/engine-client.js";
import { EventLineSplitter } from "../events/event-lines.js";

/**
 * The engine writes one JSON sample a line, a few KiB each (more with many
 * CPUs, networks or block devices). A longer line is skipped, so a stream
 * holds at most this much of one line in memory, whatever the engine sends.
 */
export const maxStatsLineBytes = 1024 * 1024;

/** The samples of an engine stats body, one per line; lines that are not JSON objects are skipped. */
export async function* statsSamples(body: Readable): AsyncGenerator<EngineContainerStats> {
  const lines = new EventLineSplitter(maxStatsLineBytes);
  for await (const chunk of body as AsyncIterable<Buffer>) {
    for (const line of lines.push(chunk)) {
      const sample = parseSample(line);
      if (sample) yield sample;
    }
  }
}

function parseSample(line: string): EngineContainerStats | undefined {
  if (line.trim() === "") return undefined;
  try {
    const parsed: unknown = JSON.parse(line);
    return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as EngineContainerStats) : undefined;
  } catch {
    return undefined;
  }
}
