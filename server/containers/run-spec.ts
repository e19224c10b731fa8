import type { ImageReference } from "./grammar/image-reference.js";

/** A validated request to run a container. Everything here is already checked. */
export interface RunSpec {
  image: ImageReference;
  name?: string;
  env: Record<string, string>;
  ports: PortSpec[];
  command: string[];
  entrypoint: string[];
  labels: Record<string, string>;
  pullPolicy: PullPolicy;
  restartPolicy: RestartPolicySpec;
  memoryBytes?: number;
  nanoCpus?: number;
  workingDir?: string;
  user?: string;
  autoRemove: boolean;
  registryAuth?: RegistryCredentials;
  mounts: MountSpec[];
  /** Idempotency key; see RunDockerContainerRequest.request_id. */
  requestId?: string;
}

export interface MountSpec {
  type: "volume" | "bind" | "tmpfs";
  /** Host path (bind), volume name (volume), or empty (tmpfs). */
  source: string;
  target: string;
  readOnly: boolean;
}

export type TransportProtocol = "tcp" | "udp" | "sctp";

export interface PortSpec {
  containerPort: number;
  /** 0 lets the engine choose. */
  hostPort: number;
  /** Empty means the operator's default (RunPolicy.defaultHostIp, loopback unless set). */
  hostIp: string;
  protocol: TransportProtocol;
}

export type PullPolicy = "if-not-present" | "always" | "never";

export interface RestartPolicySpec {
  mode: "no" | "always" | "unless-stopped" | "on-failure";
  maxRetryCount: number;
}

export interface RegistryCredentials {
  username?: string;
  password?: string;
  identityToken?: string;
  serverAddress?: string;
}

/** A validated request to stop a container. */
export interface StopSpec {
  container: string;
  /** Grace period; undefined defers to the container's StopTimeout, then the engine's 10 s. */
  timeoutSeconds?: number;
  /** Normalised signal name or number; undefined defers to the image's STOPSIGNAL. */
  signal?: string;
  ignoreAlreadyStopped: boolean;
}
