// Deno: `Deno.serve`, settings from the process environment (the
// LPBRIDGE_* ones only: run with --allow-env=LPBRIDGE_...), core modules
// compiled once from the files beside this one.

import { edgeHandler, settingsFrom } from "./core.js";
import { address, serving } from "./listen.js";

const compiled = new Map();
function coreModule(name) {
  if (!compiled.has(name)) {
    compiled.set(name, Deno.readFile(new URL(`./${name}`, import.meta.url)).then((b) => WebAssembly.compile(b)));
  }
  return compiled.get(name);
}

const handle = edgeHandler(coreModule);
const env = (name) => Deno.env.get(name);
const { hostname, port } = address(Deno.args, env);
Deno.serve({ hostname, port, onListen: (at) => serving("deno", at.hostname, at.port) }, (request) =>
  handle(request, settingsFrom(env)),
);
