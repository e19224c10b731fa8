import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import autocannon from "autocannon";

/** A gRPC message in its 5-byte envelope, as h2load must send it. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

export interface Throughput {
  requestsPerSecond: number;
  failed: number;
}

/**
 * h2load (Debian's nghttp2-client): `requests` gRPC calls over one HTTP/2
 * connection with `inFlight` streams at once. Loopback only, bounded by count.
 */
export async function h2load(url: string, body: Uint8Array, requests: number, inFlight: number): Promise<Throughput> {
  if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(url)) throw new Error(`h2load only against loopback, not ${url}`);
  const bodyFile = path.join(tmpdir(), `osiris-bench-${process.pid}.bin`);
  writeFileSync(bodyFile, grpcFrame(body));
  const { stdout } = await promisify(execFile)(
    "h2load",
    ["-n", String(requests), "-c", "1", "-m", String(inFlight), "-d", bodyFile, "-H", "content-type: application/grpc", "-H", "te: trailers", url],
    { timeout: 300_000 },
  );
  const rate = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(stdout)?.[1];
  const failed = /requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed/.exec(stdout)?.[1];
  if (rate === undefined) throw new Error(`could not read h2load's output:\n${stdout}`);
  return { requestsPerSecond: Number(rate), failed: Number(failed ?? 0) };
}

/** autocannon over the engine's unix socket: `requests` GETs from `connections` keep-alive connections. */
export async function autocannonUnix(socketPath: string, urlPath: string, requests: number, connections: number): Promise<Throughput> {
  const started = performance.now();
  const result = await autocannon({
    url: `http://localhost${urlPath}`,
    socketPath,
    connections,
    amount: requests,
  });
  // autocannon reports its duration in whole seconds; time it here instead.
  const seconds = (performance.now() - started) / 1000;
  return { requestsPerSecond: result.requests.total / seconds, failed: result.non2xx + result.errors };
}
