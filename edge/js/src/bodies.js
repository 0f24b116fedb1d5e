// Bodies between the component and the runtime: `wasi:io` streams over
// Web streams, with backpressure, and the per-request `Exchange` that ends
// whatever a component leaves open. The streams and pollables are
// preview2-shim's, so the transpiled component sees one set of classes.

import { io } from "@bytecodealliance/preview2-shim";

const { inputStreamCreate, outputStreamCreate, pollableCreate, ioErrorCreate } = io;
const symbolDispose = Symbol.dispose || Symbol.for("dispose");

/** Bytes a body may queue before the guest's writes wait for its reader. */
export const HIGH_WATER = 1 << 20;

/**
 * What the guest may take once (a body's stream, a message's body): a
 * second `take` is the WIT's error, thrown as `undefined` as jco lowers it.
 */
export class Once {
  #value;

  constructor(value) {
    this.#value = value;
  }

  get taken() {
    return this.#value === null;
  }

  take() {
    const value = this.#value;
    if (value === null) {
      throw undefined;
    }
    this.#value = null;
    return value;
  }
}

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
export class OutgoingBody {
  #stream;
  #controller = null;
  #finished = false;
  #cancelled = false;
  #waiters = [];
  readable;

  write() {
    return this.#stream.take();
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
    const output = outputStreamCreate({
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
    body.#stream = new Once(output);
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
export const outgoingBodyCreate = OutgoingBody._create;
delete OutgoingBody._create;

export class IncomingBody {
  #stream;
  #input;

  stream() {
    return this.#stream.take();
  }

  static finish(_body) {
    return new FutureTrailers();
  }

  /** A body over `readable`, cancelled with `exchange` if left unread. */
  static _create(readable, exchange) {
    const body = new IncomingBody();
    body.#input = readableInput(readable);
    body.#stream = new Once(body.#input.stream);
    exchange.track(body.#input);
    return body;
  }

  /** Dropped without its stream taken: nobody will read it. */
  [symbolDispose]() {
    if (!this.#stream.taken) {
      this.#input.end();
    }
  }
}
export const incomingBodyCreate = IncomingBody._create;
delete IncomingBody._create;

export class FutureTrailers {
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
export function declaredLength(readable, headers) {
  const length = Number(headers.get("content-length") ?? NaN);
  if (typeof FixedLengthStream !== "function" || !Number.isSafeInteger(length)) {
    return readable;
  }
  return readable.pipeThrough(new FixedLengthStream(length));
}
