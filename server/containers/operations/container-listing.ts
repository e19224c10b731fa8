import { setMaxListeners } from "node:events";
import { containerInfoFromInspect, type ContainerInfo, type ContainerStateName } from "../container-info.js";
import { engineCall } from "../engine/engine-call.js";
import { createdSeconds } from "../cache/cached-inspect.js";
import type { ContainerInspect, ContainerSummary as EngineListEntry, EngineClient } from "../engine/engine-client.js";
import { ContainerNotFoundError, PolicyViolationError } from "../errors.js";
import { engineLabelFilters, matchesLabels, type LabelSelector } from "../grammar/label-selector.js";
import { managedLabel } from "../grammar/labels.js";
import { inspectContainer, type EngineInScope, type Scope } from "./container-lookup.js";

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
  refuseOutOfScope(query, scope);
  const selector = query.managedOnly ? { ...query.labelSelector, [managedLabel]: "true" } : query.labelSelector;
  const filters: Record<string, string[]> = { label: engineLabelFilters(selector) };
  if (query.states.length > 0) filters.status = query.states.filter((state) => state !== "unknown");
  const entries = await engineCall(engine, { kind: "list-containers" }, signal, () =>
    engine.listContainers({ all: query.all || query.states.length > 0, filters }, signal),
  );
  const { page, next } = pageOf(entries, (entry) => ({ id: entry.Id, created: entry.Created, names: entry.Names }), query);
  return { containers: await inspectAll(engine, page, signal), next };
}

/**
 * The same list from inspects already at hand (the container cache): the same
 * filters, order and cursors as listContainers, and no engine call.
 */
export function listInspected(inspects: Iterable<ContainerInspect>, scope: Scope, query: ListQuery): ListPage {
  refuseOutOfScope(query, scope);
  const selector = query.managedOnly ? { ...query.labelSelector, [managedLabel]: "true" } : query.labelSelector;
  const wanted = new Set<string>(query.states);
  const selected: ContainerInspect[] = [];
  for (const inspect of inspects) {
    if (!matchesLabels(inspect.Config.Labels ?? {}, selector)) continue;
    const info = containerInfoFromInspect(inspect);
    // As the engine lists: `all` unset and no states means the running ones (paused and restarting included).
    if (wanted.size > 0 ? !wanted.has(info.state) : !query.all && !inspect.State.Running) continue;
    selected.push(inspect);
  }
  const { page, next } = pageOf(selected, (inspect) => ({ id: inspect.Id, created: createdSeconds(inspect), names: [inspect.Name] }), query);
  return { containers: page.map(containerInfoFromInspect), next };
}

function refuseOutOfScope(query: ListQuery, scope: Scope): void {
  if (!query.managedOnly && scope === "managed") {
    throw new PolicyViolationError("OSIRIS_SCOPE", "this server exposes only managed containers; managed_only=false needs OSIRIS_SCOPE=all");
  }
}

/** What ordering and paging read of a container; names with the engine's leading "/". */
interface ListPosition {
  id: string;
  /** Unix seconds. */
  created: number;
  names: string[];
}

function pageOf<T>(items: T[], positionOf: (item: T) => ListPosition, query: ListQuery): { page: T[]; next?: ListCursor } {
  const ordered = items
    .map((item) => ({ item, position: positionOf(item) }))
    .filter(({ position }) => position.names.some((name) => name.replace(/^\//, "").startsWith(query.namePrefix)))
    .sort((a, b) => byNewestThenId(a.position, b.position))
    .filter(({ position }) => query.after === undefined || isAfter(position, query.after));
  const page = ordered.slice(0, query.pageSize);
  const last = page.at(-1)?.position;
  const next = ordered.length > page.length && last ? { created: last.created, id: last.id } : undefined;
  return { page: page.map(({ item }) => item), next };
}

function byNewestThenId(a: ListPosition, b: ListPosition): number {
  return b.created - a.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function isAfter(position: ListPosition, cursor: ListCursor): boolean {
  return position.created < cursor.created || (position.created === cursor.created && position.id > cursor.id);
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
