// Small helpers: binary detection, base64, UTF-8 length, query strings, random tokens.

export const isBinary = (value) => value instanceof ArrayBuffer || ArrayBuffer.isView(value);
export const isBlob = (value) => typeof Blob !== "undefined" && value instanceof Blob;

export function bytesOf(value) {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

export function toBase64(value) {
  const bytes = bytesOf(value);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

export function fromBase64(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes.buffer;
}

/** Length in bytes of a string once UTF-8 encoded. */
export function utf8Length(text) {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) length += 1;
    else if (code < 0x800) length += 2;
    else if (code >= 0xd800 && code < 0xdc00 && i + 1 < text.length) {
      length += 4; // surrogate pair
      i++;
    } else length += 3;
  }
  return length;
}

export function encodeQuery(query) {
  const parts = [];
  for (const key of Object.keys(query)) {
    const value = query[key];
    if (value === undefined) continue;
    parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(value));
  }
  return parts.join("&");
}

export function parseQuery(text) {
  const result = {};
  for (const [key, value] of new URLSearchParams(text)) result[key] = value;
  return result;
}

export function randomToken() {
  return Date.now().toString(36) + Math.random().toString(36).slice(2, 7);
}
