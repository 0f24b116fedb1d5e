// wasi:http for the JavaScript runtimes, streamed both ways: requests,
// responses and the outgoing handler, over `fields.js` (headers) and
// `bodies.js` (bodies as Web streams, and the per-request `Exchange`).
//
// preview2-shim's browser `http` (0.26) holds a response until the guest
// has finished its body, reads a request's whole body before `handle`
// runs, and clones the request (a tee that keeps a second copy). Here:
//   - a response is handed to the runtime as soon as the guest sets it, its
//     body a ReadableStream fed by the guest's writes, with backpressure;
//   - a request body is read from the runtime's stream as the guest reads;
//   - an outgoing request starts `fetch` at once with a streamed body.
// Bodies flow through a bounded queue: a segment is never whole in
// JavaScript, only passing through in pieces. The `Exchange` of a request
// ends what its component leaves open: when it returns or traps, or when
// the caller goes away, its unfinished answer is errored (never left
// hanging), its fetches aborted, its unread bodies cancelled.

import { io } from "@bytecodealliance/preview2-shim";
import {
  Exchange,
  FutureTrailers,
  IncomingBody,
  Once,
  OutgoingBody,
  declaredLength,
  incomingBodyCreate,
  outgoingBodyCreate,
} from "./bodies.js";
import { Fields, TOKEN, fieldsLock, fieldsOfHeaders, fieldsToHeaders } from "./fields.js";

export { Exchange };

const { pollableCreate } = io;
const symbolDispose = Symbol.dispose || Symbol.for("dispose");

const METHODS = new Set(["get", "head", "post", "put", "delete", "connect", "options", "trace", "patch"]);

function methodOf(name) {
  const lower = name.toLowerCase();
  return METHODS.has(lower) ? { tag: lower } : { tag: "other", val: name };
}

function methodName(method) {
  return method.tag === "other" ? method.val : method.tag.toUpperCase();
}

/** What an incoming request and response share: fields, and a body taken once. */
class Incoming {
  #headers;
  #body;

  constructor(headers, body) {
    this.#headers = headers;
    this.#body = new Once(body);
  }

  headers() {
    return this.#headers;
  }

  consume() {
    return this.#body.take();
  }

  [symbolDispose]() {}
}

/**
 * What an outgoing request and response share: fields, fixed once given,
 * and a body made at the guest's first ask (a second ask is an error).
 */
class Outgoing {
  #headers;
  #body = null;

  constructor(headers) {
    this.#headers = fieldsLock(headers);
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

  /** Its fields and the body the guest asked for, if any, for the runtime. */
  static _parts(message) {
    return { headers: message.#headers, body: message.#body };
  }

  [symbolDispose]() {}
}
const outgoingParts = Outgoing._parts;
delete Outgoing._parts;

class IncomingRequest extends Incoming {
  #method;
  #url;

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

  /** The runtime's Request, its body read only as the guest reads it. */
  static _of(request, exchange) {
    const body = incomingBodyCreate(request.body, exchange);
    const incoming = new IncomingRequest(fieldsOfHeaders(request.headers), body);
    incoming.#method = methodOf(request.method);
    incoming.#url = new URL(request.url);
    return incoming;
  }
}
export const incomingRequestOf = IncomingRequest._of;
delete IncomingRequest._of;

class OutgoingResponse extends Outgoing {
  #status = 200;

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

  /**
   * The runtime's Response, its body streaming while the guest writes and
   * ended with `exchange` if the guest leaves it unfinished. A status that
   * allows no body (204, 304) gets none.
   */
  static _toResponse(response, exchange) {
    const { headers: fields, body } = outgoingParts(response);
    const headers = fieldsToHeaders(fields);
    const status = response.#status;
    if (body) {
      exchange.track(body);
    }
    const bodiless = status === 204 || status === 205 || status === 304;
    const stream = body && !bodiless ? declaredLength(body.readable, headers) : null;
    return new Response(stream, { status, headers });
  }
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

class OutgoingRequest extends Outgoing {
  #method = { tag: "get" };
  #scheme;
  #authority;
  #pathWithQuery;

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

  static _fetch(request, options, exchange) {
    const scheme = request.#scheme?.tag === "HTTP" ? "http:" : "https:";
    const url = `${scheme}//${request.#authority ?? ""}${request.#pathWithQuery ?? "/"}`;
    const method = methodName(request.#method);
    const parts = outgoingParts(request);
    const init = { method, headers: fieldsToHeaders(parts.headers) };
    const body = method !== "GET" && method !== "HEAD" ? parts.body : null;
    if (body) {
      init.body = declaredLength(body.readable, init.headers);
      init.duplex = "half";
    }
    return new FutureIncomingResponse(url, init, body, options?.firstByteTimeout(), exchange);
  }
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

class IncomingResponse extends Incoming {
  #status;

  status() {
    return this.#status;
  }

  static _of(response, exchange) {
    const body = incomingBodyCreate(response.body, exchange);
    const incoming = new IncomingResponse(fieldsOfHeaders(response.headers), body);
    incoming.#status = response.status;
    return incoming;
  }
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
