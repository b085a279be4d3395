/** The app's API instance: same origin, CSRF token from login or the `hw_csrf` cookie. */

import { ApiClient, cookieValue } from "./client";
import { endpoints } from "./endpoints";

const unauthorizedListeners = new Set<() => void>();

export const client = new ApiClient({
  readCookie: (name) => cookieValue(document.cookie, name),
  onUnauthorized: () => {
    for (const listener of unauthorizedListeners) listener();
  },
});

export const api = endpoints(client);

/** Run `listener` whenever a request finds the session gone; returns the unsubscribe. */
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export { ApiError, messageOf } from "./errors";
export type * from "./types";
