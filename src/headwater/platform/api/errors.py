"""One error shape for every 4xx: ``{"detail": message, "errors": [{"field", "message"}]}``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

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
    fields = [
        {
            "field": _field(tuple(e.get("loc", ()))),
            "message": str(e.get("msg", "invalid")).removeprefix("Value error, "),
        }
        for e in errors
    ]
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return JSONResponse({"detail": detail, "errors": fields}, status_code=422)


def install(app: FastAPI) -> None:
    app.add_exception_handler(PlatformError, _platform_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
