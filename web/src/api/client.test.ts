// The client against a real HTTP server on the loopback, so headers and bodies go over the wire.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ApiClient, cookieValue, withQuery } from "./client";
import { endpoints } from "./endpoints";
import { ApiError, errorFromBody } from "./errors";

interface Seen {
  method: string;
  url: string;
  csrf: string | undefined;
  body: string;
}

let server: Server;
let baseUrl: string;
const seen: Seen[] = [];

function readAll(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let data = "";
    request.on("data", (chunk: Buffer) => (data += chunk.toString()));
    request.on("end", () => resolve(data));
  });
}

beforeAll(async () => {
  server = createServer((request, response) => {
    void readAll(request).then((body) => {
      const header = request.headers["x-csrf-token"];
      seen.push({
        method: request.method ?? "",
        url: request.url ?? "",
        csrf: Array.isArray(header) ? header[0] : header,
        body,
      });
      const json = (status: number, value: unknown) => {
        response.writeHead(status, { "content-type": "application/json" });
        response.end(JSON.stringify(value));
      };
      if (request.url === "/api/auth/login") {
        const { password } = JSON.parse(body) as { password: string };
        if (password !== "right") return json(401, { detail: "wrong user name or password" });
        return json(200, {
          user: { id: 1, username: "ana", role: "editor", created_at: "2026-01-01T00:00:00Z" },
          csrf_token: "token-from-login",
          expires_at: "2026-01-02T00:00:00Z",
        });
      }
      if (request.url === "/api/projects" && request.method === "POST") {
        return json(422, {
          detail: "name: must start with a letter",
          errors: [{ field: "name", message: "must start with a letter" }],
        });
      }
      if (request.url?.startsWith("/api/topics/")) return json(200, { ok: true });
      if (request.url === "/api/html") {
        response.writeHead(500, { "content-type": "text/html" });
        return response.end("<h1>oops</h1>");
      }
      if (request.url === "/api/auth/me") return json(401, { detail: "not logged in" });
      if (request.url?.startsWith("/api/projects/p/files/")) return json(200, { ok: true });
      return json(200, []);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function last(): Seen {
  const hit = seen[seen.length - 1];
  if (!hit) throw new Error("no request reached the server");
  return hit;
}

describe("ApiClient", () => {
  it("sends the CSRF token from the cookie on writes, never on reads", async () => {
    const client = new ApiClient({ baseUrl, readCookie: (n) => (n === "hw_csrf" ? "c1" : null) });
    await client.get("/api/list");
    expect(last().csrf).toBeUndefined();
    await client.put("/api/secrets/x", { value: "v" });
    expect(last()).toMatchObject({ method: "PUT", csrf: "c1", body: '{"value":"v"}' });
  });

  it("prefers the token login returned over the cookie", async () => {
    const api = endpoints(new ApiClient({ baseUrl, readCookie: () => "stale" }));
    const result = await api.auth.login("ana", "right");
    expect(result.user.role).toBe("editor");
    await api.topics.remove("orders");
    expect(last().csrf).toBe("token-from-login");
    expect(last().url).toBe("/api/topics/orders?confirm=orders");
  });

  it("maps a 422 body to a message with field errors", async () => {
    const api = endpoints(new ApiClient({ baseUrl }));
    const error = await api.projects.create({ name: "1bad" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    expect(apiError.status).toBe(422);
    expect(apiError.detail).toBe("name: must start with a letter");
    expect(apiError.forField("name")).toBe("must start with a letter");
    expect(apiError.forField("template")).toBeUndefined();
  });

  it("gives a readable message for a non-JSON error page", async () => {
    const error = await new ApiClient({ baseUrl }).get("/api/html").catch((e: unknown) => e);
    expect((error as ApiError).detail).toBe("the server answered 500 Internal Server Error");
  });

  it("reports a lost session, but not a failed login", async () => {
    let lost = 0;
    const api = endpoints(new ApiClient({ baseUrl, onUnauthorized: () => lost++ }));
    await expect(api.auth.login("ana", "wrong")).rejects.toThrow("wrong user name or password");
    expect(lost).toBe(0);
    await expect(api.auth.me()).rejects.toMatchObject({ status: 401 });
    expect(lost).toBe(1);
  });

  it("encodes file paths segment by segment", async () => {
    const api = endpoints(new ApiClient({ baseUrl }));
    await api.projects.readFile("p", "lib/my file.py", "HEAD");
    expect(last().url).toBe("/api/projects/p/files/lib/my%20file.py?ref=HEAD");
  });

  it("turns an unreachable server into a status-0 error that says what to do", async () => {
    const client = new ApiClient({ baseUrl: "http://127.0.0.1:1" });
    const error = (await client.get("/api/x").catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(0);
    expect(error.detail).toMatch(/cannot reach the Headwater server/);
  });
});

describe("helpers", () => {
  it("reads one cookie out of document.cookie", () => {
    expect(cookieValue("a=1; hw_csrf=x%3Dy; b=2", "hw_csrf")).toBe("x=y");
    expect(cookieValue("a=1", "hw_csrf")).toBeNull();
  });

  it("leaves null and undefined out of query strings", () => {
    expect(withQuery("/t", { cluster: undefined, a: null, limit: 5 })).toBe("/t?limit=5");
    expect(withQuery("/t", {})).toBe("/t");
  });

  it("understands FastAPI's list-shaped detail and unknown statuses", () => {
    const listed = errorFromBody(422, "", { detail: [{ field: "x", message: "bad" }] });
    expect(listed.detail).toBe("x: bad");
    expect(errorFromBody(429, "Too Many Requests", null).detail).toMatch(/wait a minute/);
    expect(errorFromBody(418, "I'm a teapot", "").detail).toBe("the server answered 418 I'm a teapot");
  });
});
