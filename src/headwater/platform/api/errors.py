"""One error shape for every 4xx: ``{"detail": message, "errors": [{"field", "message"}]}``."""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, KafkaException
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError

from headwater.platform.api.schemas import PATTERN_MESSAGES
from headwater.platform.errors import PlatformError


class FieldError(BaseModel):
    field: str
    message: str


class ErrorOut(BaseModel):
    detail: str
    errors: list[FieldError] = []


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in (
        (400, "Malformed request"),
        (401, "Not logged in"),
        (403, "Role too low, or missing CSRF token"),
        (404, "Not found"),
        (409, "Conflict"),
        (413, "Too large"),
        (422, "Invalid input"),
        (429, "Too many attempts"),
    )
}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)] or ["body"]
    return ".".join(parts)


async def _platform_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PlatformError)
    return JSONResponse({"detail": exc.message, "errors": exc.errors}, status_code=exc.status)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        context = next(e for e in errors if e.get("type") == "json_invalid").get("ctx", {})
        message = f"the request body is not valid JSON ({context.get('error', 'syntax error')})"
        return JSONResponse(
            {"detail": message, "errors": [{"field": "body", "message": message}]}, status_code=400
        )
    fields = [{"field": _field(tuple(e.get("loc", ()))), "message": _message(e)} for e in errors]
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return JSONResponse({"detail": detail, "errors": fields}, status_code=422)


def _message(error: Any) -> str:
    """Pydantic's message, or for a pattern the API describes, what is expected in words."""
    if error.get("type") == "string_pattern_mismatch":
        described = PATTERN_MESSAGES.get(str(error.get("ctx", {}).get("pattern")))
        if described is not None:
            return described
    return str(error.get("msg", "invalid")).removeprefix("Value error, ")


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    """Text with NUL characters, which the database refuses: a 422, not a crash. The statement
    failed, so its transaction is rolled back and nothing changed."""
    assert isinstance(exc, DataError)
    if "NUL" not in str(exc.orig):
        raise exc
    message = "text in a request (path, query or body) cannot contain NUL (0x00) characters"
    return JSONResponse(
        {"detail": message, "errors": [{"field": "request", "message": message}]}, status_code=422
    )


async def _kafka_error(_: Request, exc: Exception) -> JSONResponse:
    """A cluster whose client options librdkafka refuses (e.g. SASL without credentials): the
    cluster's settings need fixing, the server is fine."""
    assert isinstance(exc, KafkaException)
    error = exc.args[0] if exc.args else None
    if not isinstance(error, KafkaError) or error.code() != KafkaError._INVALID_ARG:
        raise exc
    message = (
        f"the cluster's client settings are invalid ({error.str()}); an admin fixes them with "
        "PATCH /api/clusters/{name}"
    )
    return JSONResponse(
        {"detail": message, "errors": [{"field": "cluster", "message": message}]}, status_code=409
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(PlatformError, _platform_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(KafkaException, _kafka_error)
