"""What reaches the log: never a secret, and the SDK's lines at the level a person wants them.

Secrets (the password, the TOTP seed, storage credentials, JWTs, presigned URL signatures): the tap never logs one
on purpose; :class:`SecretRedactor` is the safety net for third-party debug logs (urllib3 logs every URL with its
query string at DEBUG) and for exception text.

Levels (docs/operations.md, *Logging*): the SDK logs "Added 'X' as child stream to 'Y'" for every child stream on every
command, `--discover` included, which tells a user nothing: :class:`ChildStreamLines` makes it DEBUG. The
stream-level rules live in ``streams.base.DockerHubStream.log``.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[REDACTED]"
# A JWT is three base64url parts, the first of which encodes '{"' and so starts with "eyJ". Error details are
# cut at 200 characters, often inside a token: header and claims without the signature are redacted too.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*)?")
# Query parameters that carry credentials: S3/GCS presigned signatures and anything named like a secret.
_SECRET_PARAM = re.compile(
    r"(?i)((?:x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|signature|sig|token|"
    r"access_token|secret|password|code)=)[^&\s\"'<>]+"
)


def without_tokens(text: str) -> str:
    """``text`` with JWTs and the values of credential-like query parameters (presigned signatures) redacted: what
    needs no list of the run's secrets, so text from a remote answer can be made safe where it is quoted."""
    text = _JWT.sub(REDACTED, text)
    return _SECRET_PARAM.sub(lambda m: m.group(1) + REDACTED, text)


class SecretRedactor(logging.Filter):
    """A handler filter that rewrites each record's message with every secret replaced."""

    def __init__(self) -> None:
        super().__init__("tap-dockerdvp-redactor")
        self.secrets: list[str] = []

    def add(self, secrets: list[str]) -> None:
        known = set(self.secrets) | {s for s in secrets if s and len(s) >= 4}
        self.secrets = sorted(known, key=len, reverse=True)  # longest first: a secret may contain another

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return without_tokens(text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave the record to the handler as it is
            return True
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        return True


def install_redactor(secrets: list[str]) -> None:
    """Make every handler of the root logger (where the SDK and libraries log) redact ``secrets``."""
    for handler in logging.getLogger().handlers:
        redactor = next((f for f in handler.filters if isinstance(f, SecretRedactor)), None)
        if redactor is None:
            redactor = SecretRedactor()
            handler.addFilter(redactor)
        redactor.add(secrets)


CHILD_STREAM_ADDED = "Added '%s' as child stream to '%s'"


class ChildStreamLines(logging.Filter):
    """Shows the SDK's "Added 'X' as child stream" lines as DEBUG: dropped unless DEBUG is enabled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != CHILD_STREAM_ADDED or record.levelno != logging.INFO:
            return True
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return True


def install_levels(logger: logging.Logger) -> None:
    """Put the filter on the tap's logger, once."""
    if not any(isinstance(f, ChildStreamLines) for f in logger.filters):
        logger.addFilter(ChildStreamLines())
