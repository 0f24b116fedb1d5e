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
    // A Worker var may be a number or a boolean in wrangler.toml
    // (`LPBRIDGE_MAX_BODY_MIB = 100`): the component reads its text.
    const value = lookup(name);
    if (["string", "number", "boolean"].includes(typeof value)) {
      found.push([name, String(value)]);
    }
  }
  return found;
}

function imports(settings, exchange) {
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
    "wasi:http/outgoing-handler": http.outgoingHandler(exchange),
    "wasi:io/error": io.error,
    "wasi:io/poll": io.poll,
    "wasi:io/streams": io.streams,
    "wasi:random/random": random.random,
  };
}

/** The answer when the component stopped without one: serve's JSON shape. */
function failed(why) {
  return http.internal(`the edge component stopped: ${why}`);
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
    const memories = [];
    const instantiateCore = async (module, coreImports) => {
      const instance = await WebAssembly.instantiate(module, coreImports);
      if (instance.exports.memory instanceof WebAssembly.Memory) {
        memories.push(instance.exports.memory);
      }
      return instance;
    };
    const exchange = new http.Exchange(request.signal);
    const component = await instantiate(getCoreModule, imports(settings, exchange), instantiateCore);
    const [out, response] = http.responseOutparamCreate(exchange);
    const ran = component.incomingHandler.handle(http.incomingRequestOf(request, exchange), out);
    const stopped = ran.then(
      () => (http.responseOutparamIsSet(out) ? response : failed("no response was set")),
      (error) => {
        console.error("lpbridge edge: the component trapped:", error);
        return http.responseOutparamIsSet(out) ? response : failed(String(error?.message ?? error));
      },
    );
    // Whatever the component left open ends with it: an answer it did not
    // finish is errored (the caller sees it cut, never a hang), its fetches
    // are aborted, a body it did not read is discarded (Deno holds the
    // connection open while a request body is unread).
    const done = ran.then(
      () => exchange.end(new Error("the component returned")),
      (error) => exchange.end(error),
    );
    done.then(() => stopped).then((answer) => log(request, answer, memories));
    waitUntil(stopped.then(() => done));
    return Promise.race([response, stopped]);
  };
}

/**
 * One line per request once the component is done, with the peak of its
 * linear memory (a wasm memory only grows, so its size at the end is its
 * peak): the number to hold against an isolate's memory limit.
 */
function log(request, answer, memories) {
  const bytes = memories.reduce((sum, memory) => sum + memory.buffer.byteLength, 0);
  const path = new URL(request.url).pathname;
  console.log(
    JSON.stringify({
      message: "lpbridge edge request",
      method: request.method,
      path,
      status: answer.status,
      linear_memory_bytes: bytes,
    }),
  );
}
