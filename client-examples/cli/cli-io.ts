/** What a command reads and writes; the process in real use, buffers in tests. */
export interface CliIo {
  stdout: CliOutput;
  stderr: CliOutput;
  stdin: NodeJS.ReadableStream;
  env: Record<string, string | undefined>;
  /** Called once when the user presses Ctrl-C; returns a function that stops listening. */
  onInterrupt(listener: () => void): () => void;
}

export interface CliOutput {
  write(chunk: string | Uint8Array): boolean;
  once(event: "drain", listener: () => void): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Writes and waits for the stream to drain when it asks to, so a slow pipe slows the stream instead of filling memory. */
export async function writeOut(output: CliOutput, chunk: string | Uint8Array): Promise<void> {
  if (!output.write(chunk)) await new Promise<void>((resolve) => output.once("drain", resolve));
}
