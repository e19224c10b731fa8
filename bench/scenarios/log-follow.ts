import { spawn } from "node:child_process";
import { setMaxListeners } from "node:events";
import http from "node:http";
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { StreamDockerContainerLogsRequestSchema } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { eventually } from "../../test/support/engine-fixtures.js";
import { metric } from "../../test/support/server-metrics.js";
import { benchImage, benchLabel, type BenchContext } from "../context.js";
import { grpcFrame } from "../load-generators.js";
import { compareSides, type ScenarioResult } from "../scenario.js";
import { interleaved, timed } from "../stats.js";

const totalBytes = 200_000_000;

/** Both log-follow scenarios: one follower's throughput, and a hundred followers of one container. */
export async function logFollow(context: BenchContext): Promise<ScenarioResult[]> {
  return [await oneFollower(context), await hundredFollowers(context)];
}

/** Following 200 MB of stdout through Osiris against `docker logs -f` on the same container. */
async function oneFollower(context: BenchContext): Promise<ScenarioResult> {
  // 1000-byte lines until 200 MB are written; it exits, so both followers read everything and end.
  const line = "a".repeat(999);
  const { container } = await context.client("grpc").runDockerContainer({
    image: benchImage,
    command: ["sh", "-c", `yes ${line} | head -c ${totalBytes}`],
    labels: benchLabel,
  });
  const id = container!.id;
  await context.client("grpc").waitDockerContainer({ container: id });
  let osirisBytes = 0;
  let cliBytes = 0;
  const samples = await interleaved(
    context.full ? 4 : 2,
    () =>
      timed(async () => {
        osirisBytes = 0;
        for await (const chunk of context.client("grpc").streamDockerContainerLogs({ container: id, follow: true })) {
          osirisBytes += chunk.data.length;
        }
      }),
    () =>
      timed(
        () =>
          new Promise<void>((resolve, reject) => {
            cliBytes = 0;
            const cli = spawn("docker", ["logs", "-f", id], { stdio: ["ignore", "pipe", "ignore"] });
            cli.stdout.on("data", (chunk: Buffer) => (cliBytes += chunk.length));
            cli.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`docker logs exited with ${code}`))));
          }),
      ),
  );
  await context.cleanup();
  const megabytesPerSecond = (ms: number[]) => ms.map((value) => totalBytes / 1e6 / (value / 1000));
  const result = compareSides(
    "Log follow throughput, 200 MB of stdout (gRPC)",
    "docker logs -f",
    "MB/s",
    { a: megabytesPerSecond(samples.a), b: megabytesPerSecond(samples.b) },
    0.8,
  );
  result.met = result.met && osirisBytes === totalBytes && cliBytes === totalBytes;
  result.notes.push(`bytes received: Osiris ${osirisBytes}, docker logs ${cliBytes}`);
  return result;
}

const followerCount = 100;
const burstLines = 20_000;
/** 99 characters and a newline. */
const burstLine = "b".repeat(99);

/**
 * A container that waits, prints `burstLines` lines at once on SIGUSR2, and
 * waits again: followers attach while it waits, so what they measure is live
 * following, not reading a file. It does not exit after the burst: the engine
 * (20.10) may end its follow streams before their last lines when a container
 * exits, so a follower is done when it has every line.
 */
async function waitingPrinter(context: BenchContext): Promise<string> {
  const container = await context.docker.createContainer({
    Image: benchImage,
    Cmd: ["sh", "-c", `trap "yes ${burstLine} | head -n ${burstLines}" USR2; while true; do sleep 0.05; done`],
    Labels: { ...benchLabel, "io.osiris.managed": "true" },
  });
  await container.start();
  return container.id;
}

function withinTwoMinutes<T>(work: Promise<T>, side: string, lines: () => number[]): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>(
    (_, reject) =>
      (timer = setTimeout(() => {
        const counts = lines();
        reject(new Error(`${side}: followers did not get every line within 2 minutes (fewest ${Math.min(...counts)}, incomplete ${counts.filter((n) => n < burstLines).length})`));
      }, 120_000)),
  );
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}

/** Newlines in the `data` fields of a StreamDockerContainerLogsResponse's encoding, read without decoding the rest. */
function linesInLogMessage(payload: Buffer): number {
  let lines = 0;
  let at = 0;
  const varint = () => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = payload[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
      shift += 7;
    }
  };
  while (at < payload.length) {
    const tag = varint();
    if ((tag & 7) === 0) {
      varint();
      continue;
    }
    const length = varint();
    if (tag === 0x12) for (let i = payload.indexOf(10, at); i !== -1 && i < at + length; i = payload.indexOf(10, i + 1)) lines++;
    at += length;
  }
  return lines;
}

/** A follower over gRPC as a load generator: a raw HTTP/2 stream that counts lines without decoding messages. */
function osirisFollower(session: http2.ClientHttp2Session, container: string): { lines: () => number; done: Promise<void> } {
  const stream = session.request({ ":method": "POST", ":path": "/osiris.docker.v1.DockerService/StreamDockerContainerLogs", "content-type": "application/grpc", te: "trailers" });
  let complete!: () => void;
  const done = new Promise<void>((resolve, reject) => {
    complete = resolve;
    stream.on("trailers", (trailers) => reject(new Error(`follower ended early: ${trailers["grpc-status"]} ${trailers["grpc-message"]}`)));
    stream.on("error", reject);
  });
  let lines = 0;
  let pending: Buffer = Buffer.alloc(0);
  stream.on("data", (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
      const length = pending.readUInt32BE(1);
      lines += linesInLogMessage(pending.subarray(5, 5 + length));
      pending = pending.subarray(5 + length);
    }
    if (lines >= burstLines) complete();
  });
  stream.end(grpcFrame(toBinary(StreamDockerContainerLogsRequestSchema, create(StreamDockerContainerLogsRequestSchema, { container, follow: true, tailLines: 0 }))));
  return { lines: () => lines, done };
}

/** `docker logs -f --tail 0` as a load generator: its own engine connection, counting lines in the frames' payloads. */
function directFollower(container: string): { lines: () => number; attached: Promise<void>; done: Promise<void> } {
  let lines = 0;
  let header = Buffer.alloc(0);
  let payloadLeft = 0;
  let attach!: () => void;
  const attached = new Promise<void>((resolve) => (attach = resolve));
  const done = new Promise<void>((resolve, reject) => {
    const request = http.get({ socketPath: "/var/run/docker.sock", path: `/containers/${container}/logs?follow=1&stdout=1&stderr=1&tail=0`, agent: false }, (response) => {
      attach();
      response.on("data", (chunk: Buffer) => {
        let at = 0;
        while (at < chunk.length) {
          if (payloadLeft === 0) {
            const taken = Math.min(8 - header.length, chunk.length - at);
            header = Buffer.concat([header, chunk.subarray(at, at + taken)]);
            at += taken;
            if (header.length === 8) {
              payloadLeft = header.readUInt32BE(4);
              header = Buffer.alloc(0);
            }
            continue;
          }
          const end = Math.min(chunk.length, at + payloadLeft);
          for (let i = chunk.indexOf(10, at); i !== -1 && i < end; i = chunk.indexOf(10, i + 1)) lines++;
          payloadLeft -= end - at;
          at = end;
        }
        if (lines >= burstLines) {
          resolve();
          request.destroy();
        }
      });
      response.on("end", () => reject(new Error(`engine follower ended after ${lines} lines`)));
      response.on("error", reject);
    });
    request.on("error", reject);
  });
  return { lines: () => lines, attached, done };
}

/**
 * 100 followers of one container's live output: through Osiris, which holds
 * one engine connection for all of them, against 100 direct engine follow
 * connections (`docker logs -f`), interleaved. Aggregate delivered lines/s.
 */
async function hundredFollowers(context: BenchContext): Promise<ScenarioResult> {
  const notes: string[] = [];
  const complete = { osiris: true, direct: true };
  const counts = { osiris: [] as number[], direct: [] as number[] };
  let engineStreams = Number.NaN;
  const throughOsiris = async () => {
    const id = await waitingPrinter(context);
    const sessions = Array.from({ length: 10 }, () => http2.connect(context.osiris.url));
    for (const session of sessions) setMaxListeners(followerCount, session);
    try {
      const connectionsBefore = await metric(context.osiris.url, "osiris_engine_log_connections_total");
      const followers = Array.from({ length: followerCount }, (_, i) => osirisFollower(sessions[i % sessions.length]!, id));
      await eventually(async () => (await metric(context.osiris.url, "osiris_log_followers")) === followerCount, 60_000);
      engineStreams = await metric(context.osiris.url, "osiris_engine_log_streams");
      const started = performance.now();
      await context.docker.getContainer(id).kill({ signal: "USR2" });
      await withinTwoMinutes(Promise.all(followers.map((f) => f.done)), "Osiris", () => followers.map((f) => f.lines()));
      const ms = performance.now() - started;
      const opened = (await metric(context.osiris.url, "osiris_engine_log_connections_total")) - connectionsBefore;
      if (opened !== 1 || engineStreams !== 1) notes.push(`Osiris opened ${opened} engine log connection(s), ${engineStreams} open during`);
      complete.osiris &&= followers.every((f) => f.lines() === burstLines);
      counts.osiris.push(...followers.map((f) => f.lines()));
      return ms;
    } finally {
      for (const session of sessions) session.destroy();
      await context.docker.getContainer(id).remove({ force: true }).catch(() => undefined);
    }
  };
  const direct = async () => {
    const id = await waitingPrinter(context);
    try {
      const followers = Array.from({ length: followerCount }, () => directFollower(id));
      await Promise.all(followers.map((f) => f.attached));
      // The engine (20.10) places a follower's reader a moment after answering.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const started = performance.now();
      await context.docker.getContainer(id).kill({ signal: "USR2" });
      await withinTwoMinutes(Promise.all(followers.map((f) => f.done)), "direct", () => followers.map((f) => f.lines()));
      const ms = performance.now() - started;
      complete.direct &&= followers.every((f) => f.lines() === burstLines);
      counts.direct.push(...followers.map((f) => f.lines()));
      return ms;
    } finally {
      await context.docker.getContainer(id).remove({ force: true }).catch(() => undefined);
    }
  };
  // Osiris is measured before the burst: a burst's lines are only sent once followers are in place.
  const samples = await interleaved(context.full ? 6 : 3, throughOsiris, direct);
  const linesPerSecond = (ms: number[]) => ms.map((value) => (followerCount * burstLines) / (value / 1000));
  const result = compareSides(
    `${followerCount} followers of one container's live output, ${burstLines} lines of 100 bytes (gRPC, 10 HTTP/2 connections)`,
    `${followerCount} × docker logs -f (engine follow connections)`,
    "req/s",
    { a: linesPerSecond(samples.a), b: linesPerSecond(samples.b) },
    0.8,
  );
  result.target = "1 engine log connection; delivered lines/s ≥ 0.80 × direct";
  result.met = result.met && engineStreams === 1 && complete.osiris && complete.direct && notes.length === 0;
  result.notes.push(
    `unit: delivered lines/s summed over the ${followerCount} followers`,
    `engine log connections held by Osiris for ${followerCount} followers: ${engineStreams}`,
    `every follower got all ${burstLines} lines: Osiris ${complete.osiris}, direct ${complete.direct}` +
      ` (fewest: Osiris ${Math.min(...counts.osiris)}, direct ${Math.min(...counts.direct)}; most: Osiris ${Math.max(...counts.osiris)}, direct ${Math.max(...counts.direct)})`,
    ...notes,
  );
  return result;
}
