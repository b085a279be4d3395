"""Password hashing with argon2id (argon2-cffi's recommended parameters) and the password rule.

A password must be at least ``MIN_LENGTH`` characters and not easy to guess: zxcvbn (Dropbox's
estimator, with its lists of common passwords, names and words) must rate it 3 of 4 or better,
which refuses ``password123456``, keyboard walks and the user's own name.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

_HASHER = PasswordHasher()
MIN_LENGTH = 12
MAX_LENGTH = 1024
MIN_STRENGTH = 3  # zxcvbn's score: 3 is "safely unguessable", 4 "very unguessable"
# zxcvbn's cost grows with length and it refuses more than 72 characters: the rest of a longer
# password is not rated (its start must be strong on its own).
_CHECKED_CHARACTERS = 72
# Verified against when a user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("headwater-no-such-user")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, username: str = "") -> str | None:
    """What makes ``password`` unfit, as a message that says how to fix it; None if fit."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters; a few unrelated words make a good one"
    result = zxcvbn(password[:_CHECKED_CHARACTERS], user_inputs=[username, "headwater"])
    if result["score"] < MIN_STRENGTH:
        warning = result["feedback"].get("warning") or "it follows a common pattern"
        return (
            f"is too easy to guess ({warning.rstrip('.').lower()}); use a longer phrase of "
            "unrelated words"
        )
    return None
