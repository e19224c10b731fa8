import Docker from "dockerode";
import { randomUUID } from "node:crypto";

/** The image test/support/environment.sh builds from Debian's busybox-static. */
export const testImage = "osiris-test/busybox:latest";
export const registryImage = "127.0.0.1:5000/osiris-test/busybox:latest";
export const authRegistryImage = "127.0.0.1:5001/osiris-test/busybox:latest";
export const authRegistryCredentials = { username: "osiris", password: "osiris-test-password" };

/** Every container a test makes carries this label, so cleanup finds them even after a failure. */
export const testRunLabel = "osiris-test.run";

export const docker = new Docker({ socketPath: "/var/run/docker.sock" });

export function newTestRun(): { id: string; labels: Record<string, string>; name(suffix: string): string } {
  const id = randomUUID().slice(0, 8);
  return {
    id,
    labels: { [testRunLabel]: id },
    name: (suffix) => `osiris-test-${id}-${suffix}`,
  };
}

/** Removes every container a test run labelled, whatever state it is in. */
export async function removeTestContainers(runId: string): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${testRunLabel}=${runId}`] } });
  await Promise.all(
    containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)),
  );
}

export async function testContainerIds(runId: string): Promise<string[]> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${testRunLabel}=${runId}`] } });
  return containers.map((c) => c.Id);
}

export async function containerExists(nameOrId: string): Promise<boolean> {
  try {
    await docker.getContainer(nameOrId).inspect();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}

/** Polls until `check` holds; for state the engine settles asynchronously (auto-remove, rollback). */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return check();
}

/** A shell loop that exits with `code` on SIGINT and ignores SIGTERM. */
export const exitsOnSigint = (code: number) => ["sh", "-c", `trap 'exit ${code}' INT; trap '' TERM; while true; do sleep 0.1; done`];

/** busybox httpd as PID 1 serving $GREETING; it ignores SIGTERM, so stop ends in SIGKILL. */
export const greetingServer = ["sh", "-c", 'echo "$GREETING" > /www/index.html; exec httpd -f -p 80 -h /www'];

/** Removes a local image so a test can pull it again; absent is fine. */
export async function removeLocalImage(reference: string): Promise<void> {
  await docker
    .getImage(reference)
    .remove({ force: true })
    .catch((error: { statusCode?: number }) => {
      if (error.statusCode !== 404) throw error;
    });
}
