"""Random bearer secrets (session cookies, API tokens) and their stored hashes.

They carry 256 random bits, so one SHA-256 is enough to store them: no dictionary to guard against.
"""

from __future__ import annotations

import hashlib
import secrets

API_TOKEN_PREFIX = "hwt_"


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()
