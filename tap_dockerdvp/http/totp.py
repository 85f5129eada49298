"""RFC 6238 time-based one-time passwords, for Docker Hub accounts with 2FA.

Stdlib only: a TOTP code is an HMAC-SHA1 of the 30-second time step, which does not justify a dependency.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time


class InvalidTotpSecret(ValueError):
    """The configured TOTP seed is not valid base32."""


def decode_secret(secret: str) -> bytes:
    """Decode a base32 TOTP seed as authenticator apps show it (spaces, lower case, no padding)."""
    cleaned = "".join(secret.split()).upper().rstrip("=")
    if not cleaned:
        raise InvalidTotpSecret("totp_secret is empty")
    try:
        return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except ValueError as exc:
        raise InvalidTotpSecret("totp_secret is not a valid base32 seed") from exc


def totp_code(secret: str, *, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """Return the TOTP code for ``secret`` at unix time ``at`` (default: now)."""
    key = decode_secret(secret)
    counter = int((time.time() if at is None else at) // step)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)
