import assert from "node:assert/strict";
import { createCipheriv } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { DockerService } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { buildDashboard } from "../../client-examples/dashboard/build.js";
import { buildApp } from "../../server/app.js";
import { loadConfig } from "../../server/config.js";
import { connectEngine } from "../../server/containers/engine/dockerode-engine-client.js";
import { defaultEngineEndpoint } from "../../server/containers/engine/engine-client.js";
import { newTestRun, removeLocalImage, removeTestContainers, testImage, testRunLabel } from "../support/engine-fixtures.js";
import { projectRoot, runCommand, startServerProcess, type ServerProcess } from "../support/server-process.js";

const operatorToken = "dashboard-operator-token-0123456789";
const viewerToken = "dashboard-viewer-token-0123456789";
const tokens = JSON.stringify([
  { principal: "ops", role: "operator", token: operatorToken },
  { principal: "watcher", role: "viewer", token: viewerToken },
]);
/** Screenshots of each step, for people reviewing a change (and the README). */
const artifacts = join(projectRoot, "dist", "test-artifacts", "dashboard");
/** An image in the local registry (test/support/environment.sh runs it) whose layer no local image has. */
const pullImage = "127.0.0.1:5000/osiris-test/dashboard-pull:latest";
/**
 * Builds it from 4 MiB of fixed, incompressible bytes (AES-CTR of zeros, so the
 * same blob every run and the registry does not grow), pushes it and drops the
 * local copy, so the pull has bytes to show progress for.
 */
async function pushLayeredImage(): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), "osiris-pull-layer-"));
  try {
    const cipher = createCipheriv("aes-128-ctr", Buffer.alloc(16), Buffer.alloc(16));
    writeFileSync(join(folder, "blob"), Buffer.concat([cipher.update(Buffer.alloc(4 * 1024 * 1024)), cipher.final()]));
    utimesSync(join(folder, "blob"), 0, 0);
    const script = `set -e
tar -C "${folder}" --owner=0 --group=0 --numeric-owner -cf - blob | docker import - ${pullImage} >/dev/null
docker push ${pullImage} >/dev/null
docker rmi ${pullImage} >/dev/null`;
    const result = await runCommand("sh", ["-c", script], {}, 120_000);
    assert.equal(result.code, 0, result.output);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
/** Generous bounds that only prove "no hang" on a shared, noisy machine. */
const patience = 60_000;

/** GET with the path sent exactly as written: fetch() and URL would resolve `..` before sending. */
function rawGet(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: "127.0.0.1", port, path, headers, timeout: 10_000 }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    request.on("timeout", () => request.destroy(new Error(`GET ${path} took over 10 s`)));
    request.on("error", reject);
  });
}

describe("the dashboard's files at /ui/", () => {
  let server: ServerProcess;
  before(async () => {
    await buildDashboard();
    server = await startServerProcess({ OSIRIS_TOKENS: tokens });
  });
  after(async () => {
    await server?.stop();
  });

  it("serves the page, script and stylesheet without a token, with their content types, a self-only CSP and nosniff", async () => {
    for (const [path, type] of [
      ["/ui/", /^text\/html/],
      ["/ui/app.js", /^text\/javascript/],
      ["/ui/app.css", /^text\/css/],
    ] as const) {
      const response = await rawGet(server.port, path);
      assert.equal(response.status, 200, path);
      assert.match(String(response.headers["content-type"]), type, path);
      assert.equal(response.headers["x-content-type-options"], "nosniff", path);
      const policy = String(response.headers["content-security-policy"]);
      assert.match(policy, /default-src 'none'/, path);
      assert.match(policy, /script-src 'self'(;|$)/, path);
      assert.match(policy, /connect-src 'self'(;|$)/, path);
      assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval|https?:/, path);
    }
    const page = await rawGet(server.port, "/ui/");
    assert.doesNotMatch(page.body, /https?:\/\//, "the page loads nothing from another origin");
  });

  it("refuses the page to a host name it does not answer to (DNS rebinding), as it does every request", async () => {
    const response = await rawGet(server.port, "/ui/", { host: `rebound.example:${server.port}` });
    assert.equal(response.status, 403);
  });

  it("opens from a link on another site (the page carries no data), though RPCs from there stay refused", async () => {
    assert.equal((await rawGet(server.port, "/ui/", { "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate" })).status, 200);
  });

  it("redirects /ui to /ui/", async () => {
    const response = await rawGet(server.port, "/ui");
    assert.equal(response.status, 308);
    assert.equal(response.headers.location, "/ui/");
  });

  it("answers 404, never a file outside the build, for traversal in every spelling and for missing files", async () => {
    for (const path of [
      "/ui/../package.json",
      "/ui/%2e%2e/package.json",
      "/ui/%2E%2E%2Fpackage.json",
      "/ui/..%2fpackage.json",
      "/ui/..%5cpackage.json",
      "/ui/app.js%00.css",
      "/ui/%00",
      "/ui/.hidden",
      "/ui//etc/passwd",
      "/ui/no-such-file.js",
    ]) {
      const response = await rawGet(server.port, path);
      assert.ok(response.status === 404 || response.status === 400, `${path} answered ${response.status}`);
      assert.doesNotMatch(response.body, /"dependencies"|root:x:0/, path);
    }
  });

  it("accepts the page's own same-origin calls without OSIRIS_CORS_ORIGINS, and still refuses other origins", async () => {
    const list = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const request = http.request(
          {
            host: "127.0.0.1",
            port: server.port,
            method: "POST",
            path: "/osiris.docker.v1.DockerService/ListDockerContainers",
            headers: { "content-type": "application/json", authorization: `Bearer ${viewerToken}`, ...headers },
            timeout: 10_000,
          },
          (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          },
        );
        request.on("error", reject);
        request.end("{}");
      });
    const own = `http://127.0.0.1:${server.port}`;
    assert.equal(await list({ origin: own, "sec-fetch-site": "same-origin" }), 200, "the dashboard's own call");
    assert.equal(await list({ origin: "http://evil.example", "sec-fetch-site": "same-origin" }), 403, "an Origin naming another host");
    assert.equal(await list({ origin: own, "sec-fetch-site": "cross-site" }), 403, "a browser saying the call is cross-site");
    assert.equal(await list({ origin: own }), 403, "an Origin without the browser's Sec-Fetch-Site");
    assert.equal(await list({ origin: `http://localhost:${server.port}`, "sec-fetch-site": "same-origin" }), 403, "an Origin for another name than the Host");
  });

  it("still requires a token for every RPC", async () => {
    const response = await fetch(`${server.url}/osiris.docker.v1.DockerService/ListDockerContainers`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(response.status, 401);
  });
});

describe("the dashboard's files when the build is missing or the UI is off", () => {
  const emptyDirectory = mkdtempSync(join(tmpdir(), "osiris-no-ui-"));
  after(() => rmSync(emptyDirectory, { recursive: true, force: true }));
  const config = loadConfig({ OSIRIS_LOG_LEVEL: "silent" });
  const engine = () => connectEngine(process.env.DOCKER_HOST || defaultEngineEndpoint);

  it("explains how to build the dashboard when dist/ui has no index.html", async () => {
    const app = await buildApp(config, { engine: engine(), dashboardDirectory: emptyDirectory });
    try {
      const response = await app.inject({ method: "GET", url: "/ui/" });
      assert.equal(response.statusCode, 503);
      assert.match(response.headers["content-type"] as string, /^text\/html/);
      assert.match(response.body, /npm run build:ui/);
      assert.equal((await app.inject({ method: "GET", url: "/ui/app.js" })).statusCode, 404);
    } finally {
      await app.close();
    }
  });

  it("serves nothing at /ui/ with OSIRIS_UI=off", async () => {
    const app = await buildApp(loadConfig({ OSIRIS_LOG_LEVEL: "silent", OSIRIS_UI: "off" }), { engine: engine() });
    try {
      assert.equal((await app.inject({ method: "GET", url: "/ui/" })).statusCode, 404);
    } finally {
      await app.close();
    }
  });
});

describe("the dashboard in Chromium, against a real Osiris with tokens and the real engine", () => {
  const run = newTestRun();
  const formName = run.name("form");
  const cliName = run.name("cli");
  const floodName = run.name("flood");
  let server: ServerProcess;
  let context: BrowserContext;
  let page: Page;

  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    await buildDashboard();
    server = await startServerProcess({ OSIRIS_TOKENS: tokens });
    context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "osiris-chromium-")), {
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1400, height: 900 },
    });
    page = await context.newPage();
    page.setDefaultTimeout(patience);
  });
  after(async () => {
    await removeTestContainers(run.id);
    await context?.close();
    await server?.stop();
  });

  const row = (name: string) => page.locator(`#container-rows tr[data-name="${name}"]`);
  const screenshot = (name: string) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });

  it("asks for a token when the server answers UNAUTHENTICATED, then shows the live table", async () => {
    await page.goto(`${server.url}/ui/`);
    await page.locator("#token-dialog[open]").waitFor();
    assert.match(await page.locator("#token-reason").textContent() ?? "", /UNAUTHENTICATED/);
    await page.fill("#token-input", operatorToken);
    await page.click("#token-form button[value=ok]");
    await page.locator('#connection[data-state="live"]').waitFor();
    await page.locator('body[data-role="operator"]').waitFor();
    assert.equal(await page.locator("#role").textContent(), "Operator");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("osiris.token")), operatorToken);
    assert.equal(await page.evaluate(() => localStorage.length), 0, "the token is not kept beyond the tab");
  });

  it("shows a refused run in words: the code name and each bad field", async () => {
    await page.fill("#run-image", "Not An Image!");
    await page.click("#run-form button[type=submit]");
    const notice = page.locator("#notices .notice.error").first();
    await notice.waitFor();
    const text = (await notice.textContent()) ?? "";
    assert.match(text, /INVALID_ARGUMENT/);
    assert.match(await notice.locator(".violations").textContent() ?? "", /image/);
    assert.equal(await page.getAttribute("#run-image", "aria-invalid"), "true");
  });

  it("runs a container from the form and sees it in the table without a reload, with a port link, CPU and memory", async () => {
    await page.fill("#run-image", testImage);
    await page.fill("#run-name", formName);
    await page.fill("#run-command", `sh -c 'trap "exit 0" INT TERM; i=0; while true; do i=$((i+1)); echo tick $i; echo oops $i >&2; sleep 0.3; done'`);
    await page.fill("#run-ports", "80");
    await page.fill("#run-labels", `${testRunLabel}=${run.id}`);
    await page.click("#run-form button[type=submit]");
    await row(formName).locator(".state-running").waitFor();
    const link = await row(formName).locator(".ports a").getAttribute("href");
    assert.match(link ?? "", /^http:\/\/127\.0\.0\.1:\d+$/);
    // Stats arrive about once a second; the first sample has memory, CPU comes with the second.
    await page.waitForFunction((name) => /%$/.test(document.querySelector(`tr[data-name="${name}"] .cpu`)?.textContent ?? ""), formName);
    assert.match((await row(formName).locator(".memory").textContent()) ?? "", /\d+(\.\d+)? (B|KiB|MiB|GiB)$/);
    await row(formName).locator('button[data-action="inspect"]').click();
    await page.locator("#inspect-dialog[open]").waitFor();
    const inspected = JSON.parse((await page.locator("#inspect-json").textContent()) ?? "{}") as { name?: string; labels?: Record<string, string> };
    assert.equal(inspected.name, formName);
    assert.equal(inspected.labels?.["io.osiris.managed"], "true");
    await page.keyboard.press("Escape");
    await page.locator("#inspect-dialog[open]").waitFor({ state: "detached" });
    await screenshot("table");
  });

  it("shows a container started from the docker CLI (with the managed label, so in scope) as soon as the engine reports it", async () => {
    const started = Date.now();
    const result = await runCommand("docker", [
      "run", "-d", "--name", cliName,
      "--label", "io.osiris.managed=true",
      "--label", `${testRunLabel}=${run.id}`,
      testImage, "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done",
    ]);
    assert.equal(result.code, 0, result.output);
    const returned = Date.now();
    await row(cliName).locator(".state-running").waitFor();
    const appeared = Date.now();
    console.log(
      `# dashboard: a container run from the docker CLI was in the table ${appeared - started} ms after \`docker run\` began, ` +
        `${appeared - returned} ms after it returned`,
    );
  });

  it("stops a container from the UI and shows its state change and the row's result", async () => {
    await row(cliName).locator('button[data-action="stop"]').click();
    await row(cliName).locator(".state-exited").waitFor();
    await row(cliName).locator(".result.ok", { hasText: "stopped (exit 0)" }).waitFor();
    assert.match((await row(cliName).locator(".status").textContent()) ?? "", /^Exited \(0\)/);
  });

  it("filters by label and state, and sorts by a column both ways", async () => {
    await page.fill("#filter-label", `${testRunLabel}=${run.id}`);
    await page.selectOption("#filter-state", "exited");
    await row(formName).waitFor({ state: "detached" });
    assert.deepEqual(await page.locator("#container-rows tr[data-name]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-name"))), [cliName]);
    await page.selectOption("#filter-state", "");
    await row(formName).waitFor();
    const names = () => page.locator("#container-rows tr[data-name]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-name")));
    assert.deepEqual(await names(), [cliName, formName].sort());
    await page.click('#containers th button[data-sort="name"]');
    assert.equal(await page.getAttribute('#containers th[data-column="name"]', "aria-sort"), "descending");
    await page.waitForFunction((first) => document.querySelector("#container-rows tr[data-name]")?.getAttribute("data-name") === first, [cliName, formName].sort()[1]);
    await page.click('#containers th button[data-sort="name"]');
    await page.fill("#filter-label", "");
  });

  it("follows a container's logs live, telling stdout from stderr", async () => {
    await row(formName).locator('button[data-action="logs"]').click();
    await page.locator("#logs:not([hidden])").waitFor();
    await page.waitForFunction(() => Number(document.getElementById("logs")?.dataset.lines) >= 4);
    const before = Number(await page.getAttribute("#logs", "data-lines"));
    await page.waitForFunction((count) => Number(document.getElementById("logs")?.dataset.lines) > count, before);
    assert.ok((await page.locator("#log-rows .log-row.stderr", { hasText: "oops" }).count()) > 0, "stderr lines are marked");
    assert.ok((await page.locator("#log-rows .log-row:not(.stderr)", { hasText: "tick" }).count()) > 0, "stdout lines are not");
    assert.match((await page.locator("#log-rows .log-time").first().textContent()) ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    await page.uncheck("#log-timestamps");
    assert.equal(await page.locator("#log-rows .log-time").count(), 0, "timestamps can be hidden");
    await page.check("#log-timestamps");
    await page.click("#log-pause");
    assert.equal(await page.getAttribute("#log-pause", "aria-pressed"), "true");
    await page.click("#log-pause");
    await screenshot("logs-follow");
  });

  it("loads 100,000 log lines, then scrolls and searches them (times printed, not asserted)", async () => {
    const script = "awk 'BEGIN { for (i = 1; i <= 100000; i++) print \"flood line \" i }'; echo 'the only stderr line' >&2";
    const result = await runCommand("docker", [
      "run", "-d", "--name", floodName,
      "--label", "io.osiris.managed=true",
      "--label", `${testRunLabel}=${run.id}`,
      testImage, "sh", "-c", script,
    ]);
    assert.equal(result.code, 0, result.output);
    await row(floodName).locator(".state-exited").waitFor();
    await page.selectOption("#log-tail", "all");
    const loadStarted = Date.now();
    await row(floodName).locator('button[data-action="logs"]').click();
    await page.waitForFunction(() => document.getElementById("logs")?.dataset.lines === "100001", undefined, { timeout: 240_000 });
    const loadMs = Date.now() - loadStarted;
    // The same stream read by a Node client, for scale: most of the time is the server sending 100,000 messages.
    const nodeStarted = Date.now();
    const nodeClient = createClient(
      DockerService,
      createGrpcWebTransport({
        baseUrl: server.url,
        httpVersion: "1.1",
        interceptors: [(next) => (request) => (request.header.set("authorization", `Bearer ${operatorToken}`), next(request))],
      }),
    );
    let nodeMessages = 0;
    for await (const _ of nodeClient.streamDockerContainerLogs({ container: floodName, follow: true, timestamps: true })) nodeMessages++;
    const nodeMs = Date.now() - nodeStarted;
    assert.equal(nodeMessages, 100_001);
    assert.ok((await page.locator("#log-rows .log-row").count()) < 200, "only the rows in sight are in the DOM");

    const { scrollMs, drawMs } = await page.evaluate(async () => {
      const scroller = document.getElementById("log-scroll")!;
      const panel = document.getElementById("logs")!;
      const started = performance.now();
      let slowestDraw = 0;
      for (const fraction of [0.1, 0.5, 0.9, 0.25, 0.75, 0]) {
        scroller.scrollTop = fraction * scroller.scrollHeight;
        await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
        slowestDraw = Math.max(slowestDraw, Number(panel.dataset.renderMs));
      }
      return { scrollMs: (performance.now() - started) / 6, drawMs: slowestDraw };
    });
    await page.locator("#log-rows .log-row", { hasText: "flood line 1" }).first().waitFor();

    const searchStarted = Date.now();
    await page.fill("#log-search", "flood line 99999");
    await page.press("#log-search", "Enter");
    await page.locator('#log-match-status[data-matches="1"]').waitFor();
    await page.locator("#log-rows .log-row.current mark", { hasText: "flood line 99999" }).waitFor();
    const searchMs = Date.now() - searchStarted;
    const searchScanMs = Number(await page.getAttribute("#logs", "data-search-ms"));

    await page.fill("#log-search", "only stderr");
    await page.press("#log-search", "Enter");
    await page.locator("#log-rows .log-row.stderr.current", { hasText: "the only stderr line" }).waitFor();
    await page.fill("#log-search", "flood line 5000");
    await page.press("#log-search", "Enter");
    // "flood line 5000" and "flood line 50000".."50009": eleven matches.
    await page.locator('#log-match-status[data-matches="11"]').waitFor();
    await screenshot("logs-100k-search");
    console.log(
      `# dashboard: 100,000 log lines loaded and drawn in ${loadMs} ms (a Node client reads the same stream in ${nodeMs} ms); a scroll jump on screen in ${scrollMs.toFixed(1)} ms on average ` +
        `(two animation frames; drawing the rows took at most ${drawMs.toFixed(1)} ms); ` +
        `search to highlighted match ${searchMs} ms (scan of all lines ${searchScanMs} ms)`,
    );
  });

  it("merges the logs of several selected containers by time, naming each line's container", async () => {
    await page.fill("#log-search", "");
    await page.selectOption("#log-tail", "1000");
    await page.getByLabel(`Select ${formName}`).check();
    await page.getByLabel(`Select ${floodName}`).check();
    await page.click("#bulk-logs");
    await page.locator("#log-sources li").nth(1).waitFor();
    assert.equal(await page.locator("#log-sources li").count(), 2);
    // The flood's last 1000 lines were written before the ticking container started printing.
    await page.waitForFunction(() => Number(document.getElementById("logs")?.dataset.lines) > 1001);
    await page.uncheck("#log-follow");
    await page.locator("#log-scroll").evaluate((scroller) => (scroller.scrollTop = 0));
    await page.locator("#log-rows .log-row .log-source", { hasText: floodName }).first().waitFor();
    await page.locator("#log-scroll").evaluate((scroller) => (scroller.scrollTop = scroller.scrollHeight));
    await page.locator("#log-rows .log-row .log-source", { hasText: formName }).first().waitFor();
    const times = await page.locator("#log-rows .log-time").allTextContents();
    assert.deepEqual(times, [...times].sort(), "lines are in time order");
    await page.getByLabel(`Select ${formName}`).uncheck();
    await page.getByLabel(`Select ${floodName}`).uncheck();
    await page.click("#log-close");
  });

  it("pulls an image from the local registry with a progress bar per layer", async () => {
    // The registry's busybox shares its only layer with the local test image, so pulling it downloads nothing;
    // this image has a layer of its own (the same bytes every run, so the registry does not grow).
    await pushLayeredImage();
    await page.fill("#pull-image", pullImage);
    await page.click("#pull-form button[type=submit]");
    await page.locator('#pull-status[data-done="true"]').waitFor({ timeout: 120_000 });
    assert.match((await page.locator("#pull-status").textContent()) ?? "", /Pulled .*sha256:[0-9a-f]{64}/);
    const layers = page.locator("#pull-layers tr");
    assert.ok((await layers.count()) >= 1, "one row per layer");
    const bar = layers.first().locator("progress");
    assert.equal(await bar.getAttribute("aria-label"), `Layer ${await layers.first().getAttribute("data-layer")}`);
    assert.ok(await bar.evaluate((element: HTMLProgressElement) => element.position === 1), "the finished layer's bar is full");
    // The engine throttles its progress lines; a fast local pull may skip straight to "Pull complete".
    const bytes = await layers.first().getAttribute("data-bytes");
    console.log(`# dashboard: pull drew ${await layers.count()} layer bar(s); ${bytes ? `byte progress seen (${bytes} bytes)` : "no byte counts reported by the engine"}`);
    await screenshot("pull");
    await removeLocalImage(pullImage);
  });

  it("gives a viewer read-only controls, and shows the server's refusal when one is forced", async () => {
    const viewerPage = await context.newPage();
    viewerPage.setDefaultTimeout(patience);
    try {
      // A new tab has its own session storage: the operator's token is not there.
      await viewerPage.goto(`${server.url}/ui/`);
      await viewerPage.locator("#token-dialog[open]").waitFor();
      await viewerPage.fill("#token-input", viewerToken);
      await viewerPage.click("#token-form button[value=ok]");
      await viewerPage.locator('body[data-role="viewer"]').waitFor();
      assert.equal(await viewerPage.locator("#role").textContent(), "Viewer: read-only");
      const viewerRow = viewerPage.locator(`#container-rows tr[data-name="${formName}"]`);
      await viewerRow.waitFor();
      const stop = viewerRow.locator('button[data-action="stop"]');
      assert.ok(await stop.isDisabled(), "Stop is disabled for a viewer");
      assert.ok(await viewerPage.locator("#run-form button[type=submit]").isDisabled(), "the run form is disabled");
      assert.ok(await viewerPage.locator("#pull-form button[type=submit]").isDisabled(), "the pull form is disabled");
      assert.ok(await viewerRow.locator('button[data-action="logs"]').isEnabled(), "reading logs is still allowed");
      await viewerPage.screenshot({ path: join(artifacts, "viewer.png"), fullPage: true });
      // Past the disabled button, the server still refuses: the row says so in words.
      await stop.evaluate((button: HTMLButtonElement) => {
        button.disabled = false;
        button.click();
      });
      await viewerRow.locator(".result.failed", { hasText: "PERMISSION_DENIED" }).waitFor();
      assert.match((await viewerRow.locator(".result").textContent()) ?? "", /needs role operator/);
    } finally {
      await viewerPage.close();
    }
    await page.locator(`#container-rows tr[data-name="${formName}"] .state-running`).waitFor();
  });

  it("stops and removes several containers at once, with a result per row", async () => {
    await page.fill("#filter-label", `${testRunLabel}=${run.id}`);
    await page.check("#select-all");
    await page.check("#bulk-force");
    await page.click('#bulk-actions button[data-action="remove"]');
    for (const name of [formName, cliName, floodName]) await row(name).waitFor({ state: "detached" });
    await page.locator("#bulk-result", { hasText: "remove: 3 of 3 succeeded" }).waitFor();
    await page.emulateMedia({ colorScheme: "dark" });
    await screenshot("dark");
    await page.emulateMedia({ colorScheme: "light" });
  });

  it("says in a sentence that the server cannot be reached when it goes away, not just \"Failed to fetch\"", async () => {
    await server.stop();
    await page.waitForFunction(() => /could not be reached/.test(document.getElementById("connection")?.textContent ?? ""));
    assert.match((await page.locator("#connection").textContent()) ?? "", /Check that Osiris is running/);
  });
});
