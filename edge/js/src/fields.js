// wasi:http's `fields` (headers and trailers), and their crossing to and
// from a Web `Headers`.

// A header value is bytes in WASI and a byte string in a Web `Headers`
// (each character one byte, 0 to 255): converted byte for byte, never
// through UTF-8, so a value above 0x7F stays the byte it was.
const fromBytes = (bytes) => String.fromCharCode(...bytes);
const toBytes = (text) => Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);

/** RFC 9110's token: a header name, or a method's. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7E\x80-\xFF]*$/;
// Headers the runtime owns: a fetch or a Response sets them itself.
const FORBIDDEN = new Set(["connection", "keep-alive", "host", "transfer-encoding", "upgrade"]);

export class Fields {
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
export const fieldsOfHeaders = Fields._ofHeaders;
export const fieldsLock = Fields._lock;
export const fieldsToHeaders = Fields._toHeaders;
delete Fields._ofHeaders;
delete Fields._lock;
delete Fields._toHeaders;
