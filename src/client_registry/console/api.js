// The one way the console speaks to /v1: the tab's token, JSON in and out,
// problem+json errors turned into ApiError.

const TOKEN_KEY = "client-registry.token";

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  keep: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  forget: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(status, problem, retryAfter = null) {
    super(describe(status, problem, retryAfter));
    this.status = status;
    this.problem = problem && typeof problem === "object" ? problem : {};
    this.errors = Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

function describe(status, problem, retryAfter) {
  if (status === 0) return "The service cannot be reached. Check the connection and try again.";
  if (status === 503) {
    const wait = retryAfter ? ` Try again in ${retryAfter} s.` : " Try again shortly.";
    return `The service is unavailable right now.${wait}`;
  }
  if (status === 403) return "Your token does not have the scope this needs.";
  return (problem && problem.detail) || `The service answered ${status}.`;
}

let unauthorized = () => {};

export function onUnauthorized(handler) {
  unauthorized = handler;
}

export async function call(method, path, { body, ifMatch, token } = {}) {
  const headers = { Accept: "application/json" };
  headers.Authorization = `Bearer ${token ?? session.token() ?? ""}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (ifMatch) headers["If-Match"] = ifMatch;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    throw new ApiError(0, null);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data, response.headers.get("Retry-After"));
    if (response.status === 401 && token === undefined) unauthorized(error);
    throw error;
  }
  return { data, etag: response.headers.get("ETag") };
}

export const clientPath = (id) => `/v1/clients/${encodeURIComponent(id)}`;

// What a token may do, found without changing anything: a list of one item
// tells read (403 without the scope), and an empty create tells write: the
// scope is checked before the body, and a body without a name is always
// refused (422), so the probe can never create a client.
export async function probeScopes(token) {
  const scopes = { read: false, write: false };
  try {
    await call("GET", "/v1/clients?limit=1", { token });
    scopes.read = true;
  } catch (error) {
    if (error.status !== 403) throw error;
  }
  try {
    await call("POST", "/v1/clients", { token, body: {} });
    scopes.write = true;
  } catch (error) {
    if (error.status === 401 || error.status === 0) throw error;
    scopes.write = error.status !== 403;
  }
  return scopes;
}
