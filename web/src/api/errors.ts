/** Errors from the platform API, shaped for showing inline next to what caused them. */

export interface FieldError {
  field: string;
  message: string;
}

/** A failed request: the server's `detail` (what was wrong and how to fix it) and field errors. */
export class ApiError extends Error {
  readonly status: number;
  readonly detail: string;
  readonly fieldErrors: FieldError[];

  constructor(status: number, detail: string, fieldErrors: FieldError[] = []) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
    this.fieldErrors = fieldErrors;
  }

  /** The message for one form field, if the server named it (e.g. `name` or `body.name`). */
  forField(field: string): string | undefined {
    const hit = this.fieldErrors.find((e) => e.field === field || e.field.endsWith(`.${field}`));
    return hit?.message;
  }

  get unauthorized(): boolean {
    return this.status === 401;
  }
}

const FALLBACK: Record<number, string> = {
  401: "you are not logged in, or your session ended: log in again",
  403: "your role does not allow this: ask an admin for a higher role",
  404: "not found: it may have been deleted; reload the list",
  413: "the request is too large",
  429: "too many attempts: wait a minute and try again",
  502: "the Kafka cluster did not answer: check its connection under Settings",
};

function isFieldErrorList(value: unknown): value is FieldError[] {
  return (
    Array.isArray(value) &&
    value.every(
      (e) =>
        typeof e === "object" &&
        e !== null &&
        typeof (e as FieldError).field === "string" &&
        typeof (e as FieldError).message === "string",
    )
  );
}

/**
 * Turn an error response into an ApiError. The platform answers
 * `{"detail": str, "errors": [{"field", "message"}]}`; anything else (a proxy's HTML page,
 * FastAPI's list-shaped detail) still becomes a readable message.
 */
export function errorFromBody(status: number, statusText: string, body: unknown): ApiError {
  if (typeof body === "object" && body !== null && "detail" in body) {
    const { detail, errors } = body as { detail: unknown; errors?: unknown };
    const fields = isFieldErrorList(errors) ? errors : [];
    if (typeof detail === "string" && detail) return new ApiError(status, detail, fields);
    if (isFieldErrorList(detail)) {
      return new ApiError(status, detail.map((e) => `${e.field}: ${e.message}`).join("; "), detail);
    }
  }
  const fallback = FALLBACK[status] ?? `the server answered ${status} ${statusText}`.trim();
  return new ApiError(status, fallback);
}

/** A request that never reached the server. */
export function networkError(cause: unknown): ApiError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ApiError(
    0,
    `cannot reach the Headwater server (${reason}): check that it is running and reload`,
  );
}

/** A message for any thrown value, for error boxes. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.detail;
  if (error instanceof Error) return error.message;
  return String(error);
}
