// The check page: the bridge component, transpiled by jco, checks and
// draws the segments a user drops or picks, in the browser. No byte leaves
// the machine: the files are read here and handed to the component, which
// answers the same page `lpbridge check --html` writes (`check.draw`, one
// Rust code for both), and this page becomes that page.

import * as shim from "@bytecodealliance/preview2-shim";
import { instantiate } from "lpbridge-bridge-component";

/** `terminalInput` → `terminal-input`: jco's key for each WASI interface. */
const kebab = (name) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * Every WASI interface the shim has, keyed as jco looks them up
 * (`wasi:cli/environment`). The component imports what Rust's std and the
 * session need; the calls this page makes use none of them.
 */
function imports() {
  const all = {};
  for (const [pkg, module] of Object.entries(shim)) {
    for (const [name, value] of Object.entries(module)) {
      if (!name.startsWith("_") && value && typeof value === "object") {
        all[`wasi:${pkg}/${kebab(name)}`] = value;
      }
    }
  }
  return all;
}

// The core modules, fetched and compiled once, beside this script.
const modules = new Map();
function getCoreModule(file) {
  if (!modules.has(file)) {
    modules.set(file, WebAssembly.compileStreaming(fetch(new URL(file, import.meta.url))));
  }
  return modules.get(file);
}

/**
 * The files checked and drawn: a fresh instance each time (one that
 * trapped is not used again), the page's HTML and how long it took.
 */
export async function checkFiles(files) {
  const named = await Promise.all(
    [...files].map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })),
  );
  const started = performance.now();
  const component = await instantiate(getCoreModule, imports());
  const html = component.check.draw(named);
  return { html, ms: performance.now() - started };
}

/** This page becomes the drawing, with the time it took in its title bar. */
function show({ html, ms }) {
  document.open();
  document.write(html);
  document.close();
  const took = document.createElement("p");
  took.id = "checked-in";
  took.dataset.ms = ms.toFixed(2);
  took.textContent = `Checked and drawn in this browser in ${ms.toFixed(1)} ms; nothing was uploaded. `;
  const again = document.createElement("a");
  again.href = location.pathname;
  again.textContent = "Check other files";
  took.append(again);
  document.body.prepend(took);
}

function failed(error) {
  const status = document.getElementById("status");
  status.textContent = `The component stopped: ${error?.message ?? error}`;
  status.className = "error";
}

async function check(files) {
  if (files.length === 0) return;
  document.getElementById("status").textContent = `Checking ${files.length} file(s)…`;
  try {
    show(await checkFiles(files));
  } catch (error) {
    failed(error);
  }
}

const input = document.getElementById("files");
input.addEventListener("change", () => check(input.files));
const zone = document.getElementById("drop");
zone.addEventListener("dragover", (e) => {
  e.preventDefault();
  zone.classList.add("over");
});
zone.addEventListener("dragleave", () => zone.classList.remove("over"));
zone.addEventListener("drop", (e) => {
  e.preventDefault();
  check(e.dataTransfer.files);
});
// Loaded: the component compiles while the user picks files, so a check
// costs an instantiation and the check itself.
instantiate(getCoreModule, imports()).then(
  () => {
    document.getElementById("status").textContent = "Ready: drop segments here or pick them.";
    document.body.dataset.ready = "1";
  },
  failed,
);
