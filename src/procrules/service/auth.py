"""Bearer tokens with scopes (check, ingest, admin), from a file or the environment.

A tokens file is JSON: {"tokens": [{"name": "crm", "token": "...", "scopes": ["check"]}]}, or
with "sha256": "<hex digest of the token>" instead of the token itself. The environment variable
PROCRULES_TOKENS holds "name:token:scope+scope" entries separated by commas. admin includes the
other scopes. Without any token the service answers only clients on the loopback interface.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError, json_path

SCOPES = ("check", "ingest", "admin")
ENV_TOKENS = "PROCRULES_TOKENS"


@dataclass(frozen=True)
class Token:
    name: str
    digest: bytes
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class Tokens:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens

    def __bool__(self) -> bool:
        return bool(self.tokens)

    def find(self, presented: str) -> Token | None:
        digest = _digest(presented)
        found = None
        for token in self.tokens:  # compare with every token, in constant time
            if hmac.compare_digest(token.digest, digest):
                found = token
        return found


def _scopes(value: object, where: str, path: tuple[str | int, ...]) -> frozenset[str]:
    if not isinstance(value, list) or not value or not all(isinstance(s, str) for s in value):
        raise UsageError.at(
            where, "scopes must be a list of check, ingest, admin", path=json_path(path)
        )
    unknown = [s for s in value if s not in SCOPES]
    if unknown:
        raise UsageError.at(
            where, f"unknown scope '{unknown[0]}' (check, ingest or admin)", path=json_path(path)
        )
    return frozenset(value)


def load_tokens(file: Path | None, env: str | None) -> Tokens:
    tokens: list[Token] = []
    if file is not None:
        where = str(file)
        try:
            data = json.loads(file.read_text("utf-8"))
        except OSError as exc:
            raise UsageError.at(where, f"cannot read the tokens file: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            raise UsageError.at(
                where, f"malformed JSON: {exc.msg}", line=exc.lineno, column=exc.colno
            ) from exc
        items = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise UsageError.at(where, 'expected {"tokens": [...]}', path="$.tokens")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise UsageError.at(where, "a token must be an object", path=f"$.tokens[{i}]")
            name = item.get("name") or f"token{i + 1}"
            if isinstance(item.get("token"), str) and len(item["token"]) >= 16:
                digest = _digest(item["token"])
            elif isinstance(item.get("sha256"), str) and len(item["sha256"]) == 64:
                try:
                    digest = bytes.fromhex(item["sha256"])
                except ValueError:
                    raise UsageError.at(
                        where, "sha256 must be 64 hex digits", path=f"$.tokens[{i}].sha256"
                    ) from None
            else:
                raise UsageError.at(
                    where,
                    "each token needs 'token' (16 characters or more) or 'sha256'",
                    path=f"$.tokens[{i}]",
                )
            tokens.append(
                Token(
                    str(name), digest, _scopes(item.get("scopes"), where, ("tokens", i, "scopes"))
                )
            )
    if env:
        for i, entry in enumerate(e for e in env.split(",") if e.strip()):
            parts = entry.strip().split(":")
            if len(parts) != 3 or len(parts[1]) < 16:
                raise UsageError.at(
                    ENV_TOKENS,
                    f"entry {i + 1} must be name:token:scope+scope, "
                    "the token 16 characters or more",
                )
            tokens.append(
                Token(parts[0], _digest(parts[1]), _scopes(parts[2].split("+"), ENV_TOKENS, (i,)))
            )
    return Tokens(tokens)


def is_loopback(host: str | None) -> bool:
    return bool(host) and (host == "::1" or host == "localhost" or host.startswith("127."))  # type: ignore[union-attr]
