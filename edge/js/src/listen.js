// The address a process runtime (Deno, Bun) listens on: `--addr HOST:PORT`
// or LPBRIDGE_EDGE_ADDR, 127.0.0.1:8080 by default, as `wasmtime serve
// --addr` takes it.

export function address(args, env) {
  const at = args.indexOf("--addr");
  if (at >= 0 && args[at + 1] === undefined) {
    throw new Error("--addr needs HOST:PORT");
  }
  const given = at >= 0 ? args[at + 1] : env("LPBRIDGE_EDGE_ADDR");
  const text = given ?? "127.0.0.1:8080";
  const colon = text.lastIndexOf(":");
  const port = Number(text.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--addr ${text}: expected HOST:PORT`);
  }
  return { hostname: text.slice(0, colon).replace(/^\[|\]$/g, ""), port };
}

/** The line `lpbridge serve` and `wasmtime serve` print once bound. */
export function serving(runtime, hostname, port) {
  console.log(`lpbridge edge serving on http://${hostname}:${port} (${runtime})`);
}
