// status_page.mjs BASE_URL OUT_DIR: load kesm serve's status page (BASE_URL/status) in Debian's
// chromium (headless, driven by playwright-core; no browser is downloaded) at desktop and phone
// widths, and print one JSON report on stdout for tests/integration/status_page.sh to check:
//   requests     every URL the page asked for (anything outside BASE_URL is also aborted)
//   outside      the requests that were not to BASE_URL (must be empty)
//   csp          Content-Security-Policy violations the page reported (must be empty)
//   console      console errors and uncaught page errors
//   desktop/phone: what the DOM shows once the data has arrived: mapping rows (uuid, health
//                marker, lag, last processing result), partition rows per mapping (lag, stuck),
//                the recent errors' texts, the number of <img> elements (an injected one would
//                show), SVG charts with an accessible name, the page width against the viewport,
//                and table captions
// Screenshots: OUT_DIR/status-desktop.png (1280 wide) and OUT_DIR/status-phone.png (390 wide),
// full page, and status-desktop-top.png / status-phone-top.png, the first screenful.
import { chromium } from "playwright-core";

const [base, outDir] = process.argv.slice(2);
if (!base || !outDir) {
  console.error("usage: status_page.mjs BASE_URL OUT_DIR");
  process.exit(2);
}

const report = { requests: [], outside: [], csp: [], console: [] };

function inside(url) {
  return url === base || url.startsWith(base + "/");
}

async function view(browser, name, viewport, mobile) {
  const context = await browser.newContext({
    viewport,
    deviceScaleFactor: 1,
    isMobile: mobile,
    hasTouch: mobile,
    serviceWorkers: "block",
  });
  await context.route("**/*", (route) => {
    const url = route.request().url();
    report.requests.push(url);
    if (!inside(url)) {
      report.outside.push(url);
      return route.abort();
    }
    return route.continue();
  });
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") {
      report.console.push(m.text());
    }
  });
  page.on("pageerror", (e) => report.console.push("pageerror: " + e.message));
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__csp.push(e.violatedDirective + " " + e.blockedURI);
    });
  });
  await page.goto(base + "/status", { waitUntil: "load" });
  // the data arrives with the first poll; wait for the rows, then for one more poll so the
  // charts and relative times are drawn from a second document
  await page.waitForSelector("#mappings tbody tr", { timeout: 30000 });
  const first = await page.getAttribute("body", "data-updated");
  await page.waitForFunction(
    (f) => document.body.getAttribute("data-updated") !== f,
    first,
    { timeout: 30000 },
  );
  const dom = await page.evaluate(() => {
    const rows = [...document.querySelectorAll("#mappings tbody tr")].map((tr) => ({
      uuid: tr.getAttribute("data-uuid"),
      health: tr.getAttribute("data-health"),
      marker: tr.querySelector(".marker").textContent.trim(),
      lag: tr.querySelector("[data-field=lag]").textContent.trim(),
      result: tr.querySelector("td.result").textContent.trim(),
    }));
    const parts = {};
    document.querySelectorAll("details.mapping").forEach((d) => {
      parts[d.getAttribute("data-uuid")] = [...d.querySelectorAll("table.parts tbody tr")].map(
        (tr) => ({
          partition: tr.getAttribute("data-partition"),
          lag: tr.querySelector("[data-field=lag]").textContent.trim(),
          stuck: tr.getAttribute("data-stuck") === "1",
          status: tr.lastElementChild.textContent.trim(),
        }),
      );
    });
    const charts = [...document.querySelectorAll("svg.spark")];
    return {
      rows,
      parts,
      errors: [...document.querySelectorAll("#errors li")].map((li) => li.textContent),
      images: document.querySelectorAll("img").length,
      charts: charts.length,
      chartsNamed: charts.filter((s) => (s.getAttribute("aria-label") || "").length > 10).length,
      marks: document.querySelectorAll("svg.spark polyline, svg.spark circle").length,
      captions: document.querySelectorAll("table caption").length,
      headerCells: document.querySelectorAll("th[scope]").length,
      summary: document.getElementById("summary").textContent,
      live: document.getElementById("summary").getAttribute("aria-live"),
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
      csp: window.__csp,
    };
  });
  report.csp.push(...dom.csp);
  await page.screenshot({ path: `${outDir}/status-${name}.png`, fullPage: true });
  await page.screenshot({ path: `${outDir}/status-${name}-top.png` });
  await context.close();
  return dom;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  chromiumSandbox: false,
  args: [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
  ],
});
try {
  report.desktop = await view(browser, "desktop", { width: 1280, height: 900 }, false);
  report.phone = await view(browser, "phone", { width: 390, height: 844 }, true);
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
