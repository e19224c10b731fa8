import type { FastifyInstance } from "fastify";

/**
 * The longest timer Node keeps: a longer delay fires after 1 ms instead (with a
 * TimeoutOverflowWarning). connect-es arms one timer per call deadline, so a
 * client asking for 30 days (`grpc-timeout: 720H`) would see DEADLINE_EXCEEDED
 * at once.
 */
const longestTimerMs = 2_147_483_647;

const grpcTimeout = /^(\d{1,8})([HMSmun])$/;
const unitMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/**
 * A deadline longer than Node can keep is shortened to the longest it can
 * (about 24.8 days), before connect-es reads it: for a client that far off,
 * that is the same promise, and it keeps the call alive instead of failing it.
 */
export function registerDeadlineClamp(app: FastifyInstance): void {
  app.addHook("onRequest", (request, _reply, done) => {
    const headers = request.raw.headers;
    const grpc = headers["grpc-timeout"];
    if (typeof grpc === "string") {
      const match = grpcTimeout.exec(grpc);
      if (match && Number(match[1]) * unitMs[match[2]!]! > longestTimerMs) headers["grpc-timeout"] = `${Math.floor(longestTimerMs / 1000)}S`;
    }
    const connect = headers["connect-timeout-ms"];
    if (typeof connect === "string" && /^\d{1,10}$/.test(connect) && Number(connect) > longestTimerMs) {
      headers["connect-timeout-ms"] = String(longestTimerMs);
    }
    done();
  });
}
