// The admin page's HTTP client (SPEC §8): every request carries the admin token, kept for this
// tab only (sessionStorage), and every answer comes back as {ok, status, data, error}, a server
// that cannot be reached included, so callers have one shape to read.
import { request } from "../api.js";

export const ADMIN_TOKEN_KEY = "ctb.admin_token";

const UNREACHABLE = { code: "unreachable", message: "The server cannot be reached." };

export class AdminApi {
  // onRefused(message): the server refused the token (401); the page signs out.
  constructor(onRefused) {
    this.onRefused = onRefused;
    this.token = sessionStorage.getItem(ADMIN_TOKEN_KEY);
  }

  setToken(value) {
    this.token = value;
    if (value) sessionStorage.setItem(ADMIN_TOKEN_KEY, value);
    else sessionStorage.removeItem(ADMIN_TOKEN_KEY);
  }

  async call(method, path, body) {
    if (!this.token) return { ok: false, status: 401, data: null, error: refusedError() };
    let res;
    try {
      res = await request(method, path, body, { token: this.token });
    } catch {
      return { ok: false, status: 0, data: null, error: UNREACHABLE };
    }
    if (res.status === 401) {
      this.setToken(null);
      this.onRefused(refusedError(res.error).message);
    }
    return res;
  }

  get(path, params) {
    return this.call("GET", path + queryString(params));
  }
}

function refusedError(error) {
  const detail = error && error.message && !error.message.startsWith("HTTP") ? ` (${error.message})` : "";
  return {
    code: "unauthorized",
    message: `The server refused this admin token${detail}. Check ADMIN_TOKEN and sign in again.`,
  };
}

// "?a=1&b=x" from an object, leaving out empty values.
export function queryString(params) {
  if (!params) return "";
  const parts = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    parts.set(key, String(value));
  }
  const text = parts.toString();
  return text ? `?${text}` : "";
}

// A sentence for an error answer: the server's message and, when it names one, the field.
export function errorText(res) {
  const error = res.error || {};
  const field = error.details && error.details.field ? ` (${error.details.field})` : "";
  return `${error.message || `HTTP ${res.status}`}${field}`;
}
