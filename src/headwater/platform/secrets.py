"""Encryption at rest for secrets and secret cluster options (Fernet: AES-128-CBC + HMAC).

The key comes from HEADWATER_SECRET_KEY, else from a key file in the data directory, created
with mode 0600 on first start. Losing the key loses every stored secret.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from headwater.errors import ConfigError
from headwater.platform.settings import SECRET_KEY_ENV


class SecretBox:
    """Encrypts and decrypts secret values with one key."""

    def __init__(self, key: bytes | str) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise ConfigError(
                f"{SECRET_KEY_ENV} is not a valid key: it must be 32 url-safe base64-encoded "
                'bytes, e.g. from `python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"`'
            ) from None

    @classmethod
    def load(cls, key: str | None, key_file: Path) -> SecretBox:
        """The box for ``key``, or for the key file (created with mode 0600 if missing)."""
        if key:
            return cls(key)
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(Fernet.generate_key())
        return cls(key_file.read_bytes().strip())

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ConfigError(
                "a stored secret cannot be decrypted with this key: start the server with the "
                f"key it was saved with ({SECRET_KEY_ENV} or the data directory's key file)"
            ) from None
