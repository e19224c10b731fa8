/// <reference lib="dom" />
import type { Container } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import type { OsirisClient } from "./connection.js";
import { byId } from "./dom.js";
import { describeError } from "./errors.js";
import type { Notices } from "./notices.js";
import { FormError, parseAssignments, parsePorts, pullPolicies, splitCommand } from "./requests.js";

/** Form fields by the request field a server's BadRequest names (`env`, `ports[0].host_port`, ...). */
const fieldInputs: Record<string, string> = {
  image: "run-image",
  name: "run-name",
  env: "run-env",
  ports: "run-ports",
  command: "run-command",
  labels: "run-labels",
};

/** The run form: docker run's common options, sent as one RunDockerContainer. */
export function setUpRunForm(client: OsirisClient, notices: Notices, ran: (container: Container) => void): void {
  const form = byId<HTMLFormElement>("run-form");
  const status = byId("run-status");
  const value = (id: string) => byId<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>(id).value;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void (async () => {
      for (const id of Object.values(fieldInputs)) byId(id).removeAttribute("aria-invalid");
      const submit = form.querySelector<HTMLButtonElement>("button[type=submit]")!;
      submit.disabled = true;
      status.textContent = "Running…";
      try {
        const request = {
          image: value("run-image").trim(),
          name: value("run-name").trim(),
          env: parseAssignments(value("run-env"), "env"),
          labels: parseAssignments(value("run-labels"), "labels"),
          ports: parsePorts(value("run-ports")),
          command: splitCommand(value("run-command")),
          pullPolicy: pullPolicies[value("run-pull")],
          autoRemove: byId<HTMLInputElement>("run-rm").checked,
        };
        const { container, warnings } = await client.runDockerContainer(request);
        if (container) ran(container);
        status.textContent = `Started ${container?.name ?? "the container"}${warnings.length ? ` (engine warnings: ${warnings.join("; ")})` : ""}.`;
      } catch (error) {
        if (error instanceof FormError) {
          byId(fieldInputs[error.field] ?? "run-image").setAttribute("aria-invalid", "true");
          status.textContent = `${error.field}: ${error.message}`;
          return;
        }
        const { violations } = describeError(error);
        for (const violation of violations) {
          const input = fieldInputs[violation.field.split(/[.[]/)[0] ?? ""];
          if (input) byId(input).setAttribute("aria-invalid", "true");
        }
        status.textContent = "The run failed; see the message above.";
        notices.error("Run", error);
      } finally {
        submit.disabled = false;
      }
    })();
  });
}
