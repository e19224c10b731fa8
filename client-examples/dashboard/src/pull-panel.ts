/// <reference lib="dom" />
import type { OsirisClient } from "./connection.js";
import { byId, h, replaceChildren } from "./dom.js";
import { errorLine, isOwnCancel } from "./errors.js";
import { bytesText } from "./format.js";
import type { Notices } from "./notices.js";

interface Layer {
  row: HTMLTableRowElement;
  bar: HTMLProgressElement;
  status: HTMLElement;
}

/** Pulls an image, drawing a progress bar per layer as `docker pull` does. */
export function setUpPullPanel(client: OsirisClient, notices: Notices): void {
  const form = byId<HTMLFormElement>("pull-form");
  const layersBody = byId("pull-layers");
  const status = byId("pull-status");
  const cancel = byId<HTMLButtonElement>("pull-cancel");
  let pulling: AbortController | undefined;
  cancel.addEventListener("click", () => pulling?.abort());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (pulling) return;
    const image = byId<HTMLInputElement>("pull-image").value.trim();
    const controller = new AbortController();
    pulling = controller;
    const layers = new Map<string, Layer>();
    replaceChildren(layersBody);
    status.textContent = `Pulling ${image}…`;
    cancel.hidden = false;
    form.querySelector<HTMLButtonElement>("button[type=submit]")!.disabled = true;
    void (async () => {
      try {
        for await (const message of client.pullDockerImage({ image }, { signal: controller.signal })) {
          if (message.update.case === "image") {
            status.textContent = `Pulled ${image}: ${message.update.value.imageId}${message.update.value.digest ? ` (digest ${message.update.value.digest})` : ""}`;
            status.dataset.done = "true";
            continue;
          }
          if (message.update.case !== "progress") continue;
          const { layerId, status: text, current, total } = message.update.value;
          // Lines about the whole image carry the tag as their id ("latest: Pulling from ..."); layers have hex ids.
          if (!/^[0-9a-f]{12,64}$/.test(layerId)) {
            status.textContent = layerId === "" ? text : `${layerId}: ${text}`;
            continue;
          }
          let layer = layers.get(layerId);
          if (!layer) {
            const bar = h("progress", { max: 1, "aria-label": `Layer ${layerId}` });
            const cell = h("td", { class: "layer-status" });
            layer = { row: h("tr", { "data-layer": layerId }, h("th", { scope: "row" }, h("code", {}, layerId)), h("td", {}, bar), cell), bar, status: cell };
            layers.set(layerId, layer);
            layersBody.appendChild(layer.row);
          }
          const done = /complete|already exists/i.test(text);
          if (total > 0n) {
            layer.bar.max = Number(total);
            layer.bar.value = Number(current);
            layer.row.dataset.bytes = String(total);
            layer.status.textContent = `${text} ${bytesText(Number(current))} / ${bytesText(Number(total))}`;
          } else {
            if (done) {
              layer.bar.max = 1;
              layer.bar.value = 1;
            }
            layer.status.textContent = text;
          }
          layer.row.dataset.done = String(done);
        }
      } catch (error) {
        if (isOwnCancel(error, controller.signal)) status.textContent = `Pull of ${image} canceled.`;
        else {
          status.textContent = `Pull failed: ${errorLine(error)}`;
          notices.error(`Pull ${image}`, error);
        }
      } finally {
        pulling = undefined;
        cancel.hidden = true;
        form.querySelector<HTMLButtonElement>("button[type=submit]")!.disabled = false;
      }
    })();
  });
}
