// Drives the check page in headless Chromium as a user does: opens URL,
// waits for the component to load, gives FILES to its file input, waits
// for the drawing, and prints what the page shows as JSON: the findings
// listed (segment, code), the markers measured on the axis (the page's
// `?measure`), the time the page says the check took, and a screenshot.
//
//   node edge/js/tools/check-page.mjs CHROMIUM URL SCREENSHOT FILE...
//
// The tests' (tests/tests/check.rs) and the check bench's.

import puppeteer from "puppeteer-core";

const [chromium, url, screenshot, ...files] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  defaultViewport: { width: 1400, height: 1000 },
});
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector("body[data-ready]", { timeout: 60_000 });
  const input = await page.$("#files");
  await input.uploadFile(...files);
  const drawn = await Promise.race([
    page.waitForSelector("#checked-in", { timeout: 120_000 }).then(() => true),
    page.waitForSelector("#status.error", { timeout: 120_000 }).then(() => false),
  ]);
  const shown = await page.evaluate(() => ({
    status: document.getElementById("status")?.textContent ?? null,
    ms: Number(document.getElementById("checked-in")?.dataset.ms ?? NaN),
    findings: [...document.querySelectorAll("ol.findings li")].map((li) => ({
      id: li.dataset.for,
      code: li.querySelector("b").textContent,
    })),
    measured: JSON.parse(document.getElementById("measured")?.textContent ?? "null"),
  }));
  if (drawn) {
    await page.screenshot({ path: screenshot, fullPage: false });
  }
  console.log(JSON.stringify({ drawn, errors, ...shown }));
} finally {
  await browser.close();
}
