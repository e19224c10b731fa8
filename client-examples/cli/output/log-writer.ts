import { LogStream, type StreamDockerContainerLogsResponse } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { writeOut, type CliIo } from "../cli-io.js";
import { rfc3339Nano } from "./timestamps.js";

/**
 * Copies a log stream to this process's stdout and stderr, each chunk to the
 * stream it was written to in the container, as `docker logs` does. With
 * timestamps each message is one line, prefixed with its RFC 3339 time.
 */
export async function copyLogs(messages: AsyncIterable<StreamDockerContainerLogsResponse>, io: CliIo): Promise<void> {
  for await (const message of messages) {
    const output = message.stream === LogStream.STDERR ? io.stderr : io.stdout;
    if (message.timestamp !== undefined) await writeOut(output, `${rfc3339Nano(message.timestamp)} `);
    await writeOut(output, message.data);
  }
}
