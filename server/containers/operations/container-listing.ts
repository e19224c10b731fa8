import { setMaxListeners } from "node:events";
import { containerInfoFromInspect, type ContainerInfo, type ContainerStateName } from "../container-info.js";
import { engineCall } from "../engine/engine-call.js";
import type { ContainerSummary as EngineListEntry, EngineClient } from "../engine/engine-client.js";
import { ContainerNotFoundError, PolicyViolationError } from "../errors.js";
import { engineLabelFilters, type LabelSelector } from "../grammar/label-selector.js";
import { managedLabel } from "../grammar/labels.js";
import { inspectContainer, type EngineInScope } from "./container-lookup.js";

export interface ListQuery {
  /** Not-running containers too; implied by `states`. */
  all: boolean;
  labelSelector: LabelSelector;
  namePrefix: string;
  states: ContainerStateName[];
  managedOnly: boolean;
  pageSize: number;
  /** Where the previous page ended. */
  after?: ListCursor;
}

/** A position in the list's order: newest first, then by id. */
export interface ListCursor {
  created: number;
  id: string;
}

export interface ListPage {
  containers: ContainerInfo[];
  /** Where the next page starts; undefined on the last page. */
  next?: ListCursor;
}

/** Inspects at most this many containers of a page at once. */
const inspectConcurrency = 16;

/**
 * Lists containers in a stable order and pages through them by cursor, so
 * containers created or removed between pages neither shift nor repeat the
 * rest. Each container on a page is inspected, so entries carry everything
 * GetDockerContainer reports.
 */
export async function listContainers({ engine, scope }: EngineInScope, query: ListQuery, signal: AbortSignal): Promise<ListPage> {
  if (!query.managedOnly && scope === "managed") {
    throw new PolicyViolationError("OSIRIS_SCOPE", "this server exposes only managed containers; managed_only=false needs OSIRIS_SCOPE=all");
  }
  const selector = query.managedOnly ? { ...query.labelSelector, [managedLabel]: "true" } : query.labelSelector;
  const filters: Record<string, string[]> = { label: engineLabelFilters(selector) };
  if (query.states.length > 0) filters.status = query.states.filter((state) => state !== "unknown");
  const entries = await engineCall(engine, { kind: "list-containers" }, signal, () =>
    engine.listContainers({ all: query.all || query.states.length > 0, filters }, signal),
  );
  const ordered = entries
    .filter((entry) => entry.Names.some((name) => name.replace(/^\//, "").startsWith(query.namePrefix)))
    .sort(byNewestThenId)
    .filter((entry) => query.after === undefined || isAfter(entry, query.after));
  const page = ordered.slice(0, query.pageSize);
  const last = page.at(-1);
  const next = ordered.length > page.length && last ? { created: last.Created, id: last.Id } : undefined;
  return { containers: await inspectAll(engine, page, signal), next };
}

function byNewestThenId(a: EngineListEntry, b: EngineListEntry): number {
  return b.Created - a.Created || (a.Id < b.Id ? -1 : a.Id > b.Id ? 1 : 0);
}

function isAfter(entry: EngineListEntry, cursor: ListCursor): boolean {
  return entry.Created < cursor.created || (entry.Created === cursor.created && entry.Id > cursor.id);
}

/** Containers removed since the listing are left out rather than failing the page. */
async function inspectAll(engine: EngineClient, entries: EngineListEntry[], signal: AbortSignal): Promise<ContainerInfo[]> {
  const results: (ContainerInfo | undefined)[] = new Array(entries.length);
  // Each concurrent inspect listens on the signal; that is expected, not a leak.
  setMaxListeners(inspectConcurrency + 8, signal);
  let nextIndex = 0;
  const worker = async () => {
    while (nextIndex < entries.length) {
      const index = nextIndex++;
      try {
        results[index] = containerInfoFromInspect(await inspectContainer(engine, entries[index]!.Id, signal));
      } catch (error) {
        if (!(error instanceof ContainerNotFoundError)) throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inspectConcurrency, entries.length) }, worker));
  return results.filter((info): info is ContainerInfo => info !== undefined);
}
