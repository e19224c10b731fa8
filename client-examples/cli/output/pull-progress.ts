import type { PullProgress } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import type { CliOutput } from "../cli-io.js";
import { humanSize } from "./human-units.js";

/**
 * Draws a pull as `docker pull` does (moby's jsonmessage): on a terminal,
 * one line per layer, rewritten in place with ANSI cursor moves as its status
 * and progress change; elsewhere, plain lines, leaving out the progress
 * updates as docker does (a log file would fill with them). cli-progress
 * draws its own bar layout, not docker's, so the few lines are written here.
 */
export class PullProgressView {
  /** The line of each layer, counted from the first layer line of the current block. */
  private readonly layerLines = new Map<string, number>();

  constructor(private readonly output: CliOutput) {}

  private get terminal(): boolean {
    return this.output.isTTY === true;
  }

  show(progress: PullProgress): void {
    const hasProgress = progress.current > 0n || progress.total > 0n;
    // The engine's "latest: Pulling from repo" line names the tag, not a layer.
    const isLayer = progress.layerId !== "" && !progress.status.startsWith("Pulling from");
    if (!this.terminal) {
      if (!hasProgress) this.output.write(`${progress.layerId === "" ? "" : `${progress.layerId}: `}${progress.status}\n`);
      return;
    }
    if (!isLayer) {
      // A line that is not about a layer ends the block of layer lines, as in docker.
      this.layerLines.clear();
      this.output.write(`\x1b[2K\r${progress.layerId === "" ? "" : `${progress.layerId}: `}${progress.status}\n`);
      return;
    }
    let line = this.layerLines.get(progress.layerId);
    if (line === undefined) {
      line = this.layerLines.size;
      this.layerLines.set(progress.layerId, line);
      this.output.write("\n");
    }
    const up = this.layerLines.size - line;
    const bar = progressText(progress.current, progress.total, this.output.columns ?? 80);
    this.output.write(`\x1b[${up}A\x1b[2K\r${progress.layerId}: ${progress.status}${bar === "" ? "" : ` ${bar}`}\r\x1b[${up}B`);
  }
}

/**
 * moby's JSONProgress.String(): `[=====>     ]  1.2MB/2.5MB`. The bar is drawn
 * only on terminals wider than 110 columns, as docker does.
 */
export function progressText(currentBytes: bigint, totalBytes: bigint, width: number): string {
  const current = Number(currentBytes);
  const total = Number(totalBytes);
  if (current <= 0 && total <= 0) return "";
  if (total <= 0) return humanSize(current).padStart(8);
  const filled = Math.min(50, Math.trunc(Math.trunc((current / total) * 100) / 2));
  const bar = width > 110 ? `[${"=".repeat(filled)}>${" ".repeat(50 - filled)}] ` : "";
  const numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return bar + numbers;
}
