// Resolving the URL given to io() into the server, its Manager cache key and the namespace.

/** Resolves a user URL (absolute, scheme-less, protocol-relative, path-only or omitted). */
export function resolveUri(uri) {
  const here = typeof location !== "undefined" ? location : null;
  let text = uri === undefined || uri === null ? "" : String(uri);
  if (text === "") {
    if (!here) throw new Error("io(): a URL is required outside a browser page");
    text = here.protocol + "//" + here.host;
  } else if (text.startsWith("//")) {
    text = (here ? here.protocol : "https:") + text;
  } else if (text.startsWith("/")) {
    if (!here) throw new Error("io(): a relative URL needs a browser page");
    text = here.protocol + "//" + here.host + text;
  } else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    text = (here && /^https?:$/.test(here.protocol) ? here.protocol : "https:") + "//" + text;
  }
  const url = new URL(text);
  const scheme = url.protocol.replace(/:$/, "");
  const secure = scheme === "https" || scheme === "wss";
  const port = url.port || (secure ? "443" : "80");
  return {
    url,
    secure,
    host: url.host,
    id: (secure ? "https" : "http") + "://" + url.hostname + ":" + port,
    nsp: url.pathname || "/",
    query: url.search.length > 1 ? url.search.slice(1) : "",
  };
}
