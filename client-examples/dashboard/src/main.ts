/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { Code, ConnectError } from "@connectrpc/connect";
import { toJsonString } from "@bufbuild/protobuf";
import { ContainerSchema, ReadConsistency, type Container } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { connect, probeRole, savedToken, saveToken, type Role } from "./connection.js";
import { ContainerStore } from "./container-store.js";
import { ContainerTable, type Action } from "./container-table.js";
import { byId } from "./dom.js";
import { codeName, errorLine, isNetworkFailure } from "./errors.js";
import { LogViewer } from "./log-viewer.js";
import { Notices } from "./notices.js";
import { setUpPullPanel } from "./pull-panel.js";
import { setUpRunForm } from "./run-form.js";
import { StatsFeed } from "./stats-feed.js";

const notices = new Notices();
const connection = byId("connection");
const tokenDialog = byId<HTMLDialogElement>("token-dialog");

function askForToken(): void {
  if (tokenDialog.open) return;
  byId("token-reason").textContent = savedToken()
    ? "The server refused the saved token (UNAUTHENTICATED). Enter a valid one."
    : "This Osiris requires a token (UNAUTHENTICATED). Enter yours; it is kept in this tab's session storage only.";
  tokenDialog.showModal();
  byId<HTMLInputElement>("token-input").focus();
}

const client = connect(() => askForToken());

const store = new ContainerStore(client, {
  changed: () => table.schedule(),
  connected: () => {
    connection.textContent = "Live: watching events";
    connection.dataset.state = "live";
  },
  failed: (error, repeated) => {
    connection.dataset.state = "broken";
    const code = ConnectError.from(error).code;
    connection.textContent = `Not live: ${errorLine(error)} Reconnecting…`;
    // A single network blip is reconnected at once; only one that persists, or a real error, is a message.
    if (code !== Code.Unauthenticated && (repeated || !isNetworkFailure(error))) notices.error("Live view", error);
  },
});

function setRole(role: Role): void {
  table.role = role;
  document.body.dataset.role = role;
  byId("role").textContent = role === "viewer" ? "Viewer: read-only" : role === "operator" ? "Operator" : "";
  const readOnly = role === "viewer";
  for (const fieldset of document.querySelectorAll<HTMLFieldSetElement>("fieldset.writes")) fieldset.disabled = readOnly;
  table.schedule();
}

/** Runs one action on each container at once; each row shows its own outcome. */
async function act(action: Action, ids: string[]): Promise<void> {
  const force = byId<HTMLInputElement>("bulk-force").checked;
  const names = (id: string) => store.containers.get(id)?.name ?? id.slice(0, 12);
  for (const id of ids) table.results.set(id, { ok: true, text: `${action}…` });
  table.schedule();
  const outcomes = await Promise.allSettled(
    ids.map(async (id) => {
      switch (action) {
        case "stop": {
          const { container, alreadyStopped } = await client.stopDockerContainer({ container: id, ignoreAlreadyStopped: true });
          if (container) store.put(container);
          return alreadyStopped ? "was not running" : `stopped (exit ${container?.exitCode ?? "?"})`;
        }
        case "start": {
          const { container, alreadyRunning } = await client.startDockerContainer({ container: id, ignoreAlreadyRunning: true });
          if (container) store.put(container);
          return alreadyRunning ? "was running" : "started";
        }
        case "restart": {
          const { container } = await client.restartDockerContainer({ container: id });
          if (container) store.put(container);
          return "restarted";
        }
        case "remove": {
          await client.removeDockerContainer({ container: id, force, ignoreNotFound: true });
          store.drop(id);
          return "removed";
        }
      }
    }),
  );
  let failures = 0;
  outcomes.forEach((outcome, index) => {
    const id = ids[index]!;
    if (outcome.status === "fulfilled") {
      table.results.set(id, { ok: true, text: outcome.value });
      return;
    }
    failures++;
    const error = ConnectError.from(outcome.reason);
    table.results.set(id, { ok: false, text: errorLine(error) });
    if (error.code === Code.PermissionDenied && /needs role operator/.test(error.rawMessage)) setRole("viewer");
    if (ids.length === 1) notices.error(`${action[0]!.toUpperCase()}${action.slice(1)} ${names(id)}`, error);
  });
  if (ids.length > 1) {
    const summary = `${action}: ${ids.length - failures} of ${ids.length} succeeded`;
    if (failures > 0) notices.info(`${summary}; see each row for the reason.`);
    byId("bulk-result").textContent = summary;
  }
  table.schedule();
}

const viewer = new LogViewer(client, (line) => notices.info(line));
const stats = new StatsFeed(client, () => table.schedule());
const table = new ContainerTable(store.containers, stats, {
  act: (action, ids) => void act(action, ids),
  logs: (containers: Container[]) => viewer.open(containers.map(({ id, name }) => ({ id, name }))),
  inspect: (container) => void inspect(container),
});

/** Shows a container as the engine reports it now, like `docker inspect`, in the API's JSON form. */
async function inspect(container: Container): Promise<void> {
  const dialog = byId<HTMLDialogElement>("inspect-dialog");
  byId("inspect-title").textContent = `Container ${container.name}`;
  const json = byId("inspect-json");
  json.textContent = toJsonString(ContainerSchema, container, { prettySpaces: 2 });
  if (!dialog.open) dialog.showModal();
  try {
    const fresh = await client.getDockerContainer({ container: container.id, consistency: ReadConsistency.FRESH });
    if (fresh.container) json.textContent = toJsonString(ContainerSchema, fresh.container, { prettySpaces: 2 });
  } catch (error) {
    json.textContent = `${errorLine(error)}\n\nLast known:\n${json.textContent}`;
  }
}
setUpRunForm(client, notices, (container) => store.put(container));
setUpPullPanel(client, notices);

async function begin(): Promise<void> {
  connection.textContent = "Connecting…";
  // Without tokens on the server there is nothing to sign out of.
  byId("sign-out").hidden = !savedToken();
  store.start();
  stats.start();
  setRole(await probeRole(client));
}

byId<HTMLFormElement>("token-form").addEventListener("submit", (event) => {
  // The dialog form closes the dialog (method="dialog"); this keeps the token.
  const token = byId<HTMLInputElement>("token-input").value.trim();
  if (!token || (event.submitter as HTMLButtonElement | null)?.value === "cancel") return;
  saveToken(token);
  byId<HTMLInputElement>("token-input").value = "";
  void begin();
});
byId("sign-out").addEventListener("click", () => {
  saveToken(undefined);
  byId("sign-out").hidden = true;
  store.stop();
  stats.stop();
  store.containers.clear();
  viewer.close();
  table.schedule();
  setRole("unknown");
  connection.textContent = "Signed out";
  askForToken();
});

window.addEventListener("unhandledrejection", (event) => {
  // A stream stopped on purpose is not an error; anything else is shown, not lost in the console.
  const error = event.reason;
  if (error instanceof ConnectError && error.code === Code.Canceled) return event.preventDefault();
  if (error instanceof ConnectError) {
    event.preventDefault();
    notices.error(`Unexpected ${codeName(error.code)}`, error);
  }
});

void begin();
