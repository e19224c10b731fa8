import type { Engine } from "./engine.js";

export type EngineCallObserver = (operation: string, seconds: number, outcome: "ok" | "error") => void;

interface Modem {
  dial(options: { method?: string; path: string }, callback: (error: unknown, data: unknown) => void): void;
}

/**
 * Times every engine call at the one place they all pass through, docker-modem's
 * dial, so no call site needs to remember. Streams are timed to their headers.
 */
export function observeEngineCalls(engine: Engine, observe: EngineCallObserver): void {
  const modem = engine.docker.modem as Modem;
  const dial = modem.dial.bind(modem);
  modem.dial = (options, callback) => {
    const started = performance.now();
    const operation = `${options.method ?? "GET"} ${operationPath(options.path)}`;
    dial(options, (error, data) => {
      observe(operation, (performance.now() - started) / 1000, error ? "error" : "ok");
      callback(error, data);
    });
  };
}

/** `/containers/3f1c.../start?t=1` and `/images/host:5000/a/b:1/json` become `/containers/{id}/start` and `/images/{name}/json`. */
export function operationPath(path: string): string {
  const bare = path.split("?")[0] ?? "";
  return bare
    .replace(/^\/(containers|exec|networks|volumes)\/(?!create$|json$|prune$)[^/]+/, "/$1/{id}")
    .replace(/^\/images\/(?!create$|json$|prune$|load$|search$).+?(\/(?:json|history|push|tag|get))?$/, "/images/{name}$1")
    .replace(/\/$/, "");
}
