// The edge component in a JavaScript runtime: the part every runtime
// shares. An entry (worker.js, deno.js, bun.js) gives it the compiled core
// modules and the settings from the runtime's own configuration; this
// module answers a Web Request with the component.
//
// One component instance per request: two requests suspended (JSPI) in one
// instance would share its stack and memory. Instantiating a compiled
// module costs well under a millisecond; the compile happens once.

import { cli, io, random } from "@bytecodealliance/preview2-shim";
import { instantiate } from "lpbridge-edge-component";
import * as http from "./http.js";

/** The settings the component reads, as under `wasmtime serve --env`. */
export const SETTINGS = [
  "LPBRIDGE_GATEWAY",
  "LPBRIDGE_RENDITIONS",
  "LPBRIDGE_FRAGMENTED",
  "LPBRIDGE_MAX_BODY_MIB",
  "LPBRIDGE_VERIFY",
];

/**
 * The component's environment from a lookup (a Worker's `env`, a process
 * environment): only the settings it reads, so nothing else of the host's
 * reaches the sandbox.
 */
export function settingsFrom(lookup) {
  const found = [];
  for (const name of SETTINGS) {
    const value = lookup(name);
    if (typeof value === "string") {
      found.push([name, value]);
    }
  }
  return found;
}

function imports(settings) {
  return {
    "wasi:cli/environment": {
      getEnvironment: () => settings,
      getArguments: () => [],
      initialCwd: () => undefined,
    },
    "wasi:cli/exit": cli.exit,
    "wasi:cli/stdin": cli.stdin,
    "wasi:cli/stdout": cli.stdout,
    "wasi:cli/stderr": cli.stderr,
    "wasi:cli/terminal-input": cli.terminalInput,
    "wasi:cli/terminal-output": cli.terminalOutput,
    "wasi:cli/terminal-stdin": cli.terminalStdin,
    "wasi:cli/terminal-stdout": cli.terminalStdout,
    "wasi:cli/terminal-stderr": cli.terminalStderr,
    "wasi:http/types": http.types,
    "wasi:http/outgoing-handler": http.outgoingHandler,
    "wasi:io/error": io.error,
    "wasi:io/poll": io.poll,
    "wasi:io/streams": io.streams,
    "wasi:random/random": random.random,
  };
}

/** The answer when the component stopped without one: serve's JSON shape. */
function failed(why) {
  const body = JSON.stringify({ error: "internal", message: `the edge component stopped: ${why}` });
  return new Response(body, { status: 500, headers: { "content-type": "application/json" } });
}

/**
 * A request handler over compiled core modules. `getCoreModule(name)`
 * gives the `WebAssembly.Module` of one of the transpiled core files.
 *
 * The handler answers as soon as the component sets its response head; the
 * component goes on writing the body, and `waitUntil` (a Worker's
 * `ctx.waitUntil`) keeps the runtime from ending the request before it is
 * done.
 */
export function edgeHandler(getCoreModule) {
  return async function handle(request, settings, waitUntil = () => {}) {
    const component = await instantiate(getCoreModule, imports(settings));
    const [out, response] = http.responseOutparamCreate();
    const ran = component.incomingHandler.handle(http.incomingRequestOf(request), out);
    const stopped = ran.then(
      () => (http.responseOutparamIsSet(out) ? response : failed("no response was set")),
      (error) => {
        console.error("lpbridge edge: the component trapped:", error);
        return http.responseOutparamIsSet(out) ? response : failed(String(error?.message ?? error));
      },
    );
    waitUntil(stopped.then(() => {}));
    return Promise.race([response, stopped]);
  };
}
