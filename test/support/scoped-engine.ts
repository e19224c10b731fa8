import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "node:net";
import { testRunLabel } from "./engine-fixtures.js";

const mainEngineSocket = "/var/run/docker.sock";

/**
 * The real engine, seen through a socket whose container lists show only one
 * test run's containers. Every call reaches the engine and every container is
 * real; only `GET /containers/json` gets the run's label added to its filters.
 * For counts that other tests sharing the engine would otherwise disturb,
 * such as OSIRIS_MAX_MANAGED_CONTAINERS, which counts every managed container.
 */
export class ScopedEngine {
  readonly endpoint: string;
  private readonly folder = mkdtempSync(join(tmpdir(), "osiris-scoped-engine-"));
  private readonly socketPath = join(this.folder, "docker.sock");
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly runId: string) {
    this.endpoint = `unix://${this.socketPath}`;
    this.server = http.createServer((request, response) => this.forward(request, response));
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
  }

  static async start(runId: string): Promise<ScopedEngine> {
    const engine = new ScopedEngine(runId);
    await new Promise<void>((resolve) => engine.server.listen(engine.socketPath, resolve));
    return engine;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
    rmSync(this.folder, { recursive: true, force: true });
  }

  private forward(request: http.IncomingMessage, response: http.ServerResponse): void {
    const upstream = http.request(
      { socketPath: mainEngineSocket, method: request.method, path: this.scopedPath(request), headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on("error", () => response.destroy());
    response.on("close", () => upstream.destroy());
    request.pipe(upstream);
  }

  private scopedPath(request: http.IncomingMessage): string {
    const url = new URL(request.url ?? "/", "http://engine");
    if (request.method !== "GET" || !/^(\/v[\d.]+)?\/containers\/json$/.test(url.pathname)) return request.url ?? "/";
    const filters = JSON.parse(url.searchParams.get("filters") || "{}") as Record<string, string[] | Record<string, boolean>>;
    const scope = `${testRunLabel}=${this.runId}`;
    const labels = filters.label;
    if (Array.isArray(labels)) labels.push(scope);
    else filters.label = { ...(labels ?? {}), [scope]: true };
    url.searchParams.set("filters", JSON.stringify(filters));
    return `${url.pathname}${url.search}`;
  }
}
