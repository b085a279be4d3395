"""Errors of the platform's services, each with the HTTP status the API answers with."""

from __future__ import annotations

from typing import Any


class PlatformError(Exception):
    """A request the platform refuses; the message says what was wrong and how to fix it."""

    status = 400

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


class NotFound(PlatformError):
    status = 404


class Conflict(PlatformError):
    status = 409


class Invalid(PlatformError):
    status = 422


class TooLarge(PlatformError):
    status = 413


class Unavailable(PlatformError):
    """The Kafka cluster did not answer: the platform is fine, its upstream is not."""

    status = 502
