"""Digest authentication (RFC 2617 / RFC 3261 22.4) for challenged INVITEs."""

from __future__ import annotations

import hashlib
import re
import secrets


def parse_challenge(header: str) -> dict[str, str]:
    """The parameters of a ``Digest ...`` challenge header value."""
    body = header.split(None, 1)[1] if header.lower().startswith("digest") else header
    return {
        match.group(1).lower(): match.group(2) if match.group(2) is not None else match.group(3)
        for match in re.finditer(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))', body)
    }


def digest_authorization(
    challenge: str, *, method: str, uri: str, user: str, password: str, cnonce: str = ""
) -> str:
    """The ``Digest ...`` credentials answering ``challenge`` (MD5, with or without qop=auth)."""
    params = parse_challenge(challenge)
    algorithm = params.get("algorithm", "MD5")
    if algorithm.upper() != "MD5":
        raise ValueError(f"unsupported digest algorithm {algorithm!r}")
    realm, nonce = params.get("realm", ""), params.get("nonce", "")

    def md5(text: str) -> str:
        return hashlib.md5(text.encode("utf8")).hexdigest()

    ha1 = md5(f"{user}:{realm}:{password}")
    ha2 = md5(f"{method}:{uri}")
    fields = [
        f'username="{user}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{uri}"',
    ]
    qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    if "auth" in qops:
        cnonce = cnonce or secrets.token_hex(8)
        nc = "00000001"
        response = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        fields += [f'response="{response}"', "qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
    else:
        fields.append(f'response="{md5(f"{ha1}:{nonce}:{ha2}")}"')
    fields.append("algorithm=MD5")
    if "opaque" in params:
        fields.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(fields)
