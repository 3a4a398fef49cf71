/*
 * The console's one way to the API: JSON in and out, the browser session's
 * cookie, and its CSRF token on every request that changes something.
 */

export const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, message, body = null) {
    super(message);
    this.status = status; // 0 when the server could not be reached
    this.body = body;
  }
}

let csrfToken = null;

/** Remember the CSRF token of the session (from sign-in or the session check). */
export function setCsrf(token) {
  csrfToken = token;
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Call the API. `body` is sent as JSON unless it is a Blob (a photo, sent as
 * it is). Answers the parsed JSON, null for 204, or throws ApiError.
 */
export async function api(path, { method = "GET", body, signal, raw = false } = {}) {
  const headers = { Accept: "application/json" };
  if (!SAFE.has(method) && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let payload;
  if (body instanceof Blob) {
    payload = body;
    headers["Content-Type"] = body.type || "application/octet-stream";
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(API + path, {
      method,
      headers,
      body: payload,
      signal,
      cache: "no-store",
      credentials: "same-origin",
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, `the server at ${location.host} did not answer`);
  }
  if (!response.ok) {
    let message = response.statusText;
    let parsed = null;
    try {
      parsed = await response.json();
      message = parsed.message || message;
    } catch {
      // Not our JSON error (a proxy's page, say): the status text will do.
    }
    throw new ApiError(response.status, message, parsed);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

/** A sentence an operator can act on, for any error of api(). */
export function explain(err) {
  if (!(err instanceof ApiError)) return `Something went wrong on this page: ${err.message || err}`;
  switch (err.status) {
    case 0:
      return `Network error: ${err.message}. Check the connection and try again.`;
    case 401:
      return "Your session has ended. Sign in again.";
    case 403:
      return `Not allowed: ${err.message}`;
    case 404:
      return `Not found: ${err.message}`;
    case 409:
      return `Not possible now: ${err.message}`;
    case 422:
      return `Not valid: ${err.message}`;
    case 429:
      return `Too many attempts: ${err.message}`;
    case 503:
      return "The server cannot reach its database. Try again in a minute.";
    default:
      return `The server answered ${err.status}: ${err.message}`;
  }
}
