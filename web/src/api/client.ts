/** The one HTTP client of the app: session cookie, CSRF header on writes, typed JSON. */

import { ApiError, errorFromBody, networkError } from "./errors";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
export type Query = Record<string, string | number | boolean | null | undefined>;

export const CSRF_COOKIE = "hw_csrf";
export const CSRF_HEADER = "X-CSRF-Token";

export interface ClientOptions {
  /** Prefix for every path; "" in the browser (same origin). */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** Where the CSRF token comes from when login has not handed one over (e.g. after a reload). */
  readCookie?: (name: string) => string | null;
  /** Called on 401 from any request but login, so the app can show the login page. */
  onUnauthorized?: () => void;
}

/** The value of a cookie in a `document.cookie` string. */
export function cookieValue(cookies: string, name: string): string | null {
  for (const part of cookies.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

/** `path?query`, leaving out null and undefined values. */
export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== null && value !== undefined) params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** One path segment, encoded; file paths keep their slashes. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}

export function filePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

export class ApiClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly readCookie: (name: string) => string | null;
  private readonly onUnauthorized: (() => void) | undefined;
  private csrf: string | null = null;

  constructor(options: ClientOptions = {}) {
    this.baseUrl = options.baseUrl ?? "";
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.readCookie = options.readCookie ?? (() => null);
    this.onUnauthorized = options.onUnauthorized;
  }

  /** Remember the token login returned (the cookie holds it too). */
  setCsrfToken(token: string | null): void {
    this.csrf = token;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>("GET", path, { query });
  }

  post<T>(path: string, body?: unknown, query?: Query): Promise<T> {
    return this.request<T>("POST", path, { body, query });
  }

  put<T>(path: string, body?: unknown, query?: Query): Promise<T> {
    return this.request<T>("PUT", path, { body, query });
  }

  patch<T>(path: string, body?: unknown, query?: Query): Promise<T> {
    return this.request<T>("PATCH", path, { body, query });
  }

  delete<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>("DELETE", path, { query });
  }

  /** POST a file's bytes as the body (a model upload); what it says of the file goes in `query`. */
  upload<T>(path: string, file: Blob, query?: Query): Promise<T> {
    return this.request<T>("POST", path, { file, query });
  }

  async request<T>(
    method: Method,
    path: string,
    options: { body?: unknown; file?: Blob; query?: Query | undefined } = {},
  ): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (options.file !== undefined) headers["Content-Type"] = "application/octet-stream";
    if (method !== "GET") {
      const token = this.csrf ?? this.readCookie(CSRF_COOKIE);
      if (token) headers[CSRF_HEADER] = token;
    }
    let response: Response;
    try {
      response = await this.fetchImpl(this.baseUrl + withQuery(path, options.query), {
        method,
        headers,
        credentials: "same-origin",
        body: options.file ?? (options.body === undefined ? null : JSON.stringify(options.body)),
      });
    } catch (cause) {
      throw networkError(cause);
    }
    const body = await readBody(response);
    if (!response.ok) {
      const error = errorFromBody(response.status, response.statusText, body);
      if (error.unauthorized && path !== "/api/auth/login") this.onUnauthorized?.();
      throw error;
    }
    return body as T;
  }
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return null;
  const type = response.headers.get("content-type") ?? "";
  if (!type.includes("json")) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export { ApiError };
