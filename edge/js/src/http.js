// wasi:http for the JavaScript runtimes, streamed both ways.
//
// preview2-shim's browser `http` (0.26) holds a response until the guest
// has finished its body, reads a request's whole body before `handle`
// runs, and clones the request (a tee that keeps a second copy). This
// module keeps the shim's `wasi:io` streams and pollables, so the
// transpiled component sees one set of classes, and bridges bodies to Web
// streams itself:
//   - a response is handed to the runtime as soon as the guest sets it, its
//     body a ReadableStream fed by the guest's writes, with backpressure;
//   - a request body is read from the runtime's stream as the guest reads;
//   - an outgoing request starts `fetch` at once with a streamed body.
// Bodies flow through a bounded queue (HIGH_WATER bytes): a segment is
// never whole in JavaScript, only passing through in pieces. An `Exchange`
// per request ends what the component leaves open: when it returns or
// traps, or when the caller goes away, its unfinished answer is errored
// (never left hanging), its fetches aborted, its unread bodies cancelled.

import { io } from "@bytecodealliance/preview2-shim";

const { inputStreamCreate, outputStreamCreate, pollableCreate, ioErrorCreate } = io;
const symbolDispose = Symbol.dispose || Symbol.for("dispose");
// A header value is bytes in WASI and a byte string in a Web `Headers`
// (each character one byte, 0 to 255): converted byte for byte, never
// through UTF-8, so a value above 0x7F stays the byte it was.
const fromBytes = (bytes) => String.fromCharCode(...bytes);
const toBytes = (text) => Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);

/** Bytes a body may queue before the guest's writes wait for its reader. */
export const HIGH_WATER = 1 << 20;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7E\x80-\xFF]*$/;
// Headers the runtime owns: a fetch or a Response sets them itself.
const FORBIDDEN = new Set(["connection", "keep-alive", "host", "transfer-encoding", "upgrade"]);

class Fields {
  #entries = [];
  #immutable = false;

  static fromList(entries) {
    const fields = new Fields();
    for (const [name, value] of entries) {
      fields.append(name, value);
    }
    return fields;
  }

  get(name) {
    const lower = name.toLowerCase();
    return this.#entries.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
  }

  has(name) {
    return this.get(name).length > 0;
  }

  set(name, values) {
    this.delete(name);
    for (const value of values) {
      this.append(name, value);
    }
  }

  delete(name) {
    this.#mutable();
    const lower = name.toLowerCase();
    this.#entries = this.#entries.filter(([n]) => n.toLowerCase() !== lower);
  }

  append(name, value) {
    this.#mutable();
    if (!TOKEN.test(name) || !FIELD_VALUE.test(fromBytes(value))) {
      throw { tag: "invalid-syntax" };
    }
    if (FORBIDDEN.has(name.toLowerCase())) {
      throw { tag: "forbidden" };
    }
    this.#entries.push([name, value]);
  }

  entries() {
    return this.#entries.slice();
  }

  clone() {
    const fields = new Fields();
    fields.#entries = this.#entries.slice();
    return fields;
  }

  #mutable() {
    if (this.#immutable) {
      throw { tag: "immutable" };
    }
  }

  /** Fields of a Web `Headers`, immutable as the WIT says received ones are. */
  static _ofHeaders(headers) {
    const fields = new Fields();
    headers.forEach((value, name) => fields.#entries.push([name, toBytes(value)]));
    fields.#immutable = true;
    return fields;
  }

  static _lock(fields) {
    fields.#immutable = true;
    return fields;
  }

  /** The Web `Headers` to send, without the ones the runtime owns. */
  static _toHeaders(fields) {
    const headers = new Headers();
    for (const [name, value] of fields.#entries) {
      if (!FORBIDDEN.has(name.toLowerCase())) {
        headers.append(name, fromBytes(value));
      }
    }
    return headers;
  }
}
const fieldsOfHeaders = Fields._ofHeaders;
const fieldsLock = Fields._lock;
const fieldsToHeaders = Fields._toHeaders;
delete Fields._ofHeaders;
delete Fields._lock;
delete Fields._toHeaders;

/**
 * One request's open ends: bodies and fetches that must not outlive it.
 * Each tracked thing has `end(reason)`, a no-op once it is done.
 */
export class Exchange {
  #open = new Set();
  #ended = null;

  /** `signal`: the runtime's request signal, aborted when the caller goes. */
  constructor(signal) {
    signal?.addEventListener("abort", () => this.end(new Error("the caller went away")));
  }

  track(thing) {
    if (this.#ended) {
      thing.end(this.#ended);
    } else {
      this.#open.add(thing);
    }
  }

  /** Ends everything still open, once. */
  end(reason) {
    if (this.#ended) {
      return;
    }
    this.#ended = reason;
    for (const thing of this.#open) {
      thing.end(reason);
    }
    this.#open.clear();
  }
}

/**
 * A `wasi:io` input stream over a Web ReadableStream: one chunk read ahead
 * at most, handed to the guest in pieces of the size it asks for.
 */
function readableInput(readable) {
  // Locked only once the guest reads: a body the guest never reads stays
  // the runtime's to discard.
  let reader = null;
  let chunk = null;
  let offset = 0;
  let done = !readable;
  let failure = null;
  let pending = null;

  const ready = () => done || failure !== null || (chunk !== null && offset < chunk.byteLength);
  const fill = () => {
    pending ??= (async () => {
      try {
        reader ??= readable.getReader();
        while (!ready()) {
          const next = await reader.read();
          if (next.done) {
            done = true;
          } else if (next.value.byteLength > 0) {
            chunk = next.value;
            offset = 0;
          }
        }
      } catch (cause) {
        failure = ioErrorCreate(cause instanceof Error ? cause.message : String(cause));
      } finally {
        pending = null;
      }
    })();
    return pending;
  };
  const take = (len) => {
    if (failure !== null) {
      throw { tag: "last-operation-failed", val: failure };
    }
    if (chunk === null || offset >= chunk.byteLength) {
      if (done) {
        throw { tag: "closed" };
      }
      fill();
      return new Uint8Array(0);
    }
    const end = Math.min(chunk.byteLength, offset + Number(len));
    const piece = chunk.subarray(offset, end);
    offset = end;
    if (offset >= chunk.byteLength) {
      chunk = null;
    }
    return piece;
  };
  const stream = inputStreamCreate({
    read: take,
    // JSPI suspends the guest on the promise; a chunk already here is
    // returned at once.
    blockingRead(len) {
      return ready() || len === 0n ? take(len) : fill().then(() => take(len));
    },
    subscribe() {
      return pollableCreate({ ready, wait: () => (ready() ? Promise.resolve() : fill()) });
    },
    drop: discard,
  });
  function discard() {
    if (done && reader === null) {
      return;
    }
    done = true;
    chunk = null;
    (reader ?? readable)?.cancel().catch(() => {});
  }
  return { stream, end: discard };
}

/**
 * A body the guest writes, read by the runtime as a ReadableStream. The
 * guest may write as much as the queue has room for; when it is full,
 * `check-write` says 0 and the guest's pollable waits for the reader.
 */
class OutgoingBody {
  #stream = null;
  #controller = null;
  #finished = false;
  #cancelled = false;
  #waiters = [];
  readable;

  write() {
    const stream = this.#stream;
    if (stream === null) {
      throw undefined;
    }
    this.#stream = null;
    return stream;
  }

  static finish(body, trailers) {
    if (trailers) {
      throw { tag: "internal-error", val: "trailers are not supported" };
    }
    if (body.#finished) {
      throw { tag: "internal-error", val: "the body was already finished" };
    }
    body.#finished = true;
    if (!body.#cancelled) {
      body.#controller.close();
    }
    body.#wakeUp();
  }

  #room() {
    return this.#cancelled ? 0 : Math.max(0, this.#controller.desiredSize ?? 0);
  }

  #wakeUp() {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) {
      wake();
    }
  }

  /** Resolves once `condition` holds, checked each time the reader pulls. */
  async #until(condition) {
    while (!condition()) {
      await new Promise((resolve) => this.#waiters.push(resolve));
    }
  }

  static _create() {
    const body = new OutgoingBody();
    body.readable = new ReadableStream(
      {
        start(controller) {
          body.#controller = controller;
        },
        pull() {
          body.#wakeUp();
        },
        cancel() {
          body.#cancelled = true;
          body.#wakeUp();
        },
      },
      { highWaterMark: HIGH_WATER, size: (chunk) => chunk.byteLength },
    );
    const closed = () => body.#cancelled || body.#finished;
    body.#stream = outputStreamCreate({
      checkWrite() {
        if (closed()) {
          throw { tag: "closed" };
        }
        return BigInt(body.#room());
      },
      write(bytes) {
        if (closed()) {
          throw { tag: "closed" };
        }
        // jco lifts the bytes out of the guest's memory as a copy of their
        // own: the queue keeps them as they are.
        body.#controller.enqueue(bytes);
      },
      flush() {},
      // What is queued is the runtime's to send, as a socket's buffer is
      // the kernel's: a flush does not wait for the reader. Waiting for it
      // would deadlock a runtime that reads the answer only once the
      // request is done with; `check-write` alone paces the guest.
      blockingFlush() {
        if (body.#cancelled) {
          throw { tag: "closed" };
        }
      },
      subscribe() {
        const ready = () => closed() || body.#room() > 0;
        return pollableCreate({ ready, wait: () => body.#until(ready) });
      },
    });
    return body;
  }

  /**
   * Ends a body the guest did not finish: its reader sees an error, never
   * a stream left open (the WIT's "corrupted" body). The guest's next
   * write finds it closed.
   */
  end(reason) {
    if (this.#finished || this.#cancelled) {
      return;
    }
    this.#cancelled = true;
    this.#controller.error(reason);
    this.#wakeUp();
  }

  /**
   * The reader is gone (a fetch failed or was answered early): the guest's
   * next write finds the body closed.
   */
  abandon() {
    this.#cancelled = true;
    this.#wakeUp();
  }

  /** Dropped without `finish`: ended. */
  [symbolDispose]() {
    this.end(new Error("the component dropped the body unfinished"));
  }
}
const outgoingBodyCreate = OutgoingBody._create;
delete OutgoingBody._create;

class IncomingBody {
  #stream;
  #input;

  stream() {
    const stream = this.#stream;
    if (!stream) {
      throw undefined;
    }
    this.#stream = null;
    return stream;
  }

  static finish(_body) {
    return new FutureTrailers();
  }

  /** A body over `readable`, cancelled with `exchange` if left unread. */
  static _create(readable, exchange) {
    const body = new IncomingBody();
    body.#input = readableInput(readable);
    body.#stream = body.#input.stream;
    exchange.track(body.#input);
    return body;
  }

  /** Dropped without its stream taken: nobody will read it. */
  [symbolDispose]() {
    if (this.#stream) {
      this.#input.end();
    }
  }
}
const incomingBodyCreate = IncomingBody._create;
delete IncomingBody._create;

class FutureTrailers {
  #taken = false;

  subscribe() {
    return pollableCreate();
  }

  get() {
    if (this.#taken) {
      return { tag: "err", val: undefined };
    }
    this.#taken = true;
    return { tag: "ok", val: { tag: "ok", val: undefined } };
  }

  [symbolDispose]() {}
}

/**
 * A streamed body keeps the length its headers declare. workerd sends a
 * JavaScript stream chunked and drops `Content-Length` unless the stream
 * is its `FixedLengthStream`; the other runtimes keep the header as it is.
 */
function declaredLength(readable, headers) {
  const length = Number(headers.get("content-length") ?? NaN);
  if (typeof FixedLengthStream !== "function" || !Number.isSafeInteger(length)) {
    return readable;
  }
  return readable.pipeThrough(new FixedLengthStream(length));
}

const METHODS = new Set(["get", "head", "post", "put", "delete", "connect", "options", "trace", "patch"]);

function methodOf(name) {
  const lower = name.toLowerCase();
  return METHODS.has(lower) ? { tag: lower } : { tag: "other", val: name };
}

function methodName(method) {
  return method.tag === "other" ? method.val : method.tag.toUpperCase();
}

class IncomingRequest {
  #method;
  #url;
  #headers;
  #body;

  method() {
    return this.#method;
  }

  pathWithQuery() {
    return this.#url.pathname + this.#url.search;
  }

  scheme() {
    return this.#url.protocol === "https:" ? { tag: "HTTPS" } : { tag: "HTTP" };
  }

  authority() {
    return this.#url.host;
  }

  headers() {
    return this.#headers;
  }

  consume() {
    const body = this.#body;
    if (!body) {
      throw undefined;
    }
    this.#body = null;
    return body;
  }

  /** The runtime's Request, its body read only as the guest reads it. */
  static _of(request, exchange) {
    const incoming = new IncomingRequest();
    incoming.#method = methodOf(request.method);
    incoming.#url = new URL(request.url);
    incoming.#headers = fieldsOfHeaders(request.headers);
    incoming.#body = incomingBodyCreate(request.body, exchange);
    return incoming;
  }

  [symbolDispose]() {}
}
export const incomingRequestOf = IncomingRequest._of;
delete IncomingRequest._of;

class OutgoingResponse {
  #status = 200;
  #headers;
  #body = null;

  constructor(headers) {
    this.#headers = fieldsLock(headers);
  }

  statusCode() {
    return this.#status;
  }

  // What a Web Response can carry: 200 to 599 (a 1xx is the runtime's).
  setStatusCode(status) {
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw undefined;
    }
    this.#status = status;
  }

  headers() {
    return this.#headers;
  }

  body() {
    if (this.#body) {
      throw undefined;
    }
    this.#body = outgoingBodyCreate();
    return this.#body;
  }

  /**
   * The runtime's Response, its body streaming while the guest writes and
   * ended with `exchange` if the guest leaves it unfinished. A status that
   * allows no body (204, 304) gets none.
   */
  static _toResponse(response, exchange) {
    const headers = fieldsToHeaders(response.#headers);
    const status = response.#status;
    const body = response.#body;
    if (body) {
      exchange.track(body);
    }
    const bodiless = status === 204 || status === 205 || status === 304;
    const stream = body && !bodiless ? declaredLength(body.readable, headers) : null;
    return new Response(stream, { status, headers });
  }

  [symbolDispose]() {}
}
const responseOf = OutgoingResponse._toResponse;
delete OutgoingResponse._toResponse;

class ResponseOutparam {
  #settle;
  #exchange;

  static set(param, result) {
    const settle = param.#settle;
    if (!settle) {
      throw new Error("the response was already set");
    }
    let response;
    try {
      response =
        result.tag === "ok"
          ? responseOf(result.val, param.#exchange)
          : internal(`the component answered an error: ${result.val.tag}`);
    } catch (error) {
      response = internal(`the component's response cannot be sent: ${error?.message ?? error}`);
    }
    param.#settle = null;
    settle(response);
  }

  /** An outparam of `exchange` and the Response it will settle to. */
  static _create(exchange) {
    const param = new ResponseOutparam();
    param.#exchange = exchange;
    const response = new Promise((resolve) => (param.#settle = resolve));
    return [param, response];
  }

  static _isSet(param) {
    return param.#settle === null;
  }

  [symbolDispose]() {}
}

/** A 500 in serve's JSON shape, for what the component cannot answer. */
export function internal(message) {
  const body = JSON.stringify({ error: "internal", message });
  return new Response(body, { status: 500, headers: { "content-type": "application/json" } });
}
export const responseOutparamCreate = ResponseOutparam._create;
export const responseOutparamIsSet = ResponseOutparam._isSet;
delete ResponseOutparam._create;
delete ResponseOutparam._isSet;

class RequestOptions {
  #timeouts = { connect: undefined, firstByte: undefined, betweenBytes: undefined };

  connectTimeout() {
    return this.#timeouts.connect;
  }

  setConnectTimeout(ns) {
    this.#timeouts.connect = ns;
  }

  firstByteTimeout() {
    return this.#timeouts.firstByte;
  }

  setFirstByteTimeout(ns) {
    this.#timeouts.firstByte = ns;
  }

  betweenBytesTimeout() {
    return this.#timeouts.betweenBytes;
  }

  setBetweenBytesTimeout(ns) {
    this.#timeouts.betweenBytes = ns;
  }

  [symbolDispose]() {}
}

class OutgoingRequest {
  #method = { tag: "get" };
  #scheme;
  #authority;
  #pathWithQuery;
  #headers;
  #body = null;

  constructor(headers) {
    this.#headers = fieldsLock(headers);
  }

  body() {
    if (this.#body) {
      throw undefined;
    }
    this.#body = outgoingBodyCreate();
    return this.#body;
  }

  method() {
    return this.#method;
  }

  setMethod(method) {
    if (method.tag === "other" && !TOKEN.test(method.val)) {
      throw undefined;
    }
    this.#method = method;
  }

  pathWithQuery() {
    return this.#pathWithQuery;
  }

  setPathWithQuery(path) {
    this.#pathWithQuery = path;
  }

  scheme() {
    return this.#scheme;
  }

  setScheme(scheme) {
    this.#scheme = scheme;
  }

  authority() {
    return this.#authority;
  }

  setAuthority(authority) {
    this.#authority = authority;
  }

  headers() {
    return this.#headers;
  }

  static _fetch(request, options, exchange) {
    const scheme = request.#scheme?.tag === "HTTP" ? "http:" : "https:";
    const url = `${scheme}//${request.#authority ?? ""}${request.#pathWithQuery ?? "/"}`;
    const method = methodName(request.#method);
    const init = { method, headers: fieldsToHeaders(request.#headers) };
    const body = method !== "GET" && method !== "HEAD" ? request.#body : null;
    if (body) {
      init.body = declaredLength(body.readable, init.headers);
      init.duplex = "half";
    }
    return new FutureIncomingResponse(url, init, body, options?.firstByteTimeout(), exchange);
  }

  [symbolDispose]() {}
}
const outgoingRequestFetch = OutgoingRequest._fetch;
delete OutgoingRequest._fetch;

/**
 * A `wasi:http` error-code for a failed fetch. The Fetch API gives no
 * typed reason; where a runtime adds a code (Bun's `code`, Node's
 * `cause.code`) it is used, else the error's own words.
 */
function errorCode(error, timedOut) {
  if (timedOut) {
    return { tag: "HTTP-response-timeout" };
  }
  const code = error?.code ?? error?.cause?.code;
  if (code === "ECONNREFUSED" || code === "ConnectionRefused") {
    return { tag: "connection-refused" };
  }
  if (code === "ECONNRESET" || code === "ConnectionReset" || code === "ConnectionClosed") {
    return { tag: "connection-terminated" };
  }
  const words = error instanceof Error ? error.message : String(error);
  return { tag: "internal-error", val: words.split("\n")[0] };
}

class FutureIncomingResponse {
  #result;
  #settled;
  #abort = new AbortController();

  /**
   * Starts the fetch at once, so the runtime reads the body as the guest
   * writes it. A fetch that fails, or an answer that is not a success
   * while the body is still going out, leaves the body unread: the guest's
   * writes are told so at once, instead of waiting on a queue nobody
   * drains, and it reads the answer. The fetch is aborted with `exchange`.
   */
  constructor(url, init, body, firstByteNs, exchange) {
    let timedOut = false;
    const timer =
      firstByteNs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            this.#abort.abort();
          }, Number(firstByteNs / 1000000n));
    exchange.track({ end: (reason) => this.#abort.abort(reason) });
    this.#settled = fetch(url, { ...init, signal: this.#abort.signal }).then(
      (response) => {
        if (!response.ok) {
          body?.abandon();
        }
        this.#result = { tag: "ok", val: { tag: "ok", val: incomingResponseOf(response, exchange) } };
      },
      (error) => {
        body?.abandon();
        this.#result = { tag: "ok", val: { tag: "err", val: errorCode(error, timedOut) } };
      },
    );
    this.#settled.finally(() => clearTimeout(timer));
  }

  subscribe() {
    return pollableCreate(this.#settled);
  }

  get() {
    const result = this.#result;
    if (result !== undefined) {
      this.#result = { tag: "err", val: undefined };
    }
    return result;
  }

  [symbolDispose]() {
    // A request dropped before its answer came is abandoned.
    if (this.#result === undefined) {
      this.#abort.abort();
    }
  }
}

class IncomingResponse {
  #status;
  #headers;
  #body;

  status() {
    return this.#status;
  }

  headers() {
    return this.#headers;
  }

  consume() {
    const body = this.#body;
    if (!body) {
      throw undefined;
    }
    this.#body = null;
    return body;
  }

  static _of(response, exchange) {
    const incoming = new IncomingResponse();
    incoming.#status = response.status;
    incoming.#headers = fieldsOfHeaders(response.headers);
    incoming.#body = incomingBodyCreate(response.body, exchange);
    return incoming;
  }

  [symbolDispose]() {}
}
const incomingResponseOf = IncomingResponse._of;
delete IncomingResponse._of;

export const types = {
  Fields,
  FutureIncomingResponse,
  FutureTrailers,
  IncomingBody,
  IncomingRequest,
  IncomingResponse,
  OutgoingBody,
  OutgoingRequest,
  OutgoingResponse,
  RequestOptions,
  ResponseOutparam,
  httpErrorCode: () => undefined,
};

/** `wasi:http/outgoing-handler` for one request's component. */
export function outgoingHandler(exchange) {
  return {
    handle(request, options) {
      return outgoingRequestFetch(request, options, exchange);
    },
  };
}
