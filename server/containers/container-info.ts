export type ContainerStateName =
  | "created"
  | "running"
  | "paused"
  | "restarting"
  | "removing"
  | "exited"
  | "dead"
  | "unknown";

/** A published port as the engine bound it. */
export interface PortBinding {
  containerPort: number;
  hostPort: number;
  hostIp: string;
  protocol: string;
}

/** What Osiris reports about a container, independent of any wire format. */
export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  imageId: string;
  state: ContainerStateName;
  exitCode: number;
  oomKilled: boolean;
  ports: PortBinding[];
  labels: Record<string, string>;
  /** RFC 3339 with nanoseconds, as the engine writes it; undefined when never set. */
  createdAt?: string;
  startedAt?: string;
  finishedAt?: string;
  error: string;
  restartCount: number;
  /** The healthcheck's state; "none" when the container has no healthcheck. */
  health: HealthState;
}

export type HealthState = "none" | "starting" | "healthy" | "unhealthy";
