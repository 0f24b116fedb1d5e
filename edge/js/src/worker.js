// Cloudflare Workers and workerd: a module Worker. Settings are the
// Worker's vars (wrangler.toml's [vars], or text bindings in a workerd
// config); the core modules are imported as compiled wasm modules, since
// a Worker may not compile wasm from bytes at run time.

import modules from "lpbridge-edge-modules";
import { edgeHandler, settingsFrom } from "./core.js";

const handle = edgeHandler((name) => modules[name]);

export default {
  fetch(request, env, ctx) {
    return handle(request, settingsFrom((name) => env[name]), (done) => ctx.waitUntil(done));
  },
};
