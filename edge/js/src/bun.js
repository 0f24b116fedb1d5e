// Bun: `Bun.serve`, settings from the process environment, core modules
// compiled once from the files beside this one.

import { edgeHandler, settingsFrom } from "./core.js";
import { address, serving } from "./listen.js";

const compiled = new Map();
function coreModule(name) {
  if (!compiled.has(name)) {
    const file = Bun.file(new URL(`./${name}`, import.meta.url));
    compiled.set(name, file.arrayBuffer().then((b) => WebAssembly.compile(b)));
  }
  return compiled.get(name);
}

const handle = edgeHandler(coreModule);
const env = (name) => process.env[name];
const { hostname, port } = address(process.argv.slice(2), env);
const server = Bun.serve({
  hostname,
  port,
  // The component enforces LPBRIDGE_MAX_BODY_MIB and answers 413 itself;
  // Bun's own cap (128 MiB by default) must not cut in first.
  maxRequestBodySize: 1 << 30,
  // A segment's answer takes as long as its transcode: no idle cut at 10 s.
  idleTimeout: 0,
  fetch: (request) => handle(request, settingsFrom(env)),
});
serving("bun", server.hostname, server.port);
