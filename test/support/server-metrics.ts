import assert from "node:assert/strict";
import { eventually } from "./engine-fixtures.js";

/** One unlabelled sample from the server's /metrics. */
export async function metric(baseUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const match = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return match ? Number(match[1]) : Number.NaN;
}

/** Waits until the server has registered this many event watchers, so none misses what follows. */
export async function watchersRegistered(baseUrl: string, count: number): Promise<void> {
  assert.ok(await eventually(async () => (await metric(baseUrl, "osiris_event_watchers")) === count), `${count} watchers registered`);
}
