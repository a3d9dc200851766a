"""Verify a dukcapil-facematch receipt in Python, with PyJWT and cryptography.

The proxy signs every verdict and definitive refusal with ES256. A backend records an outcome
only after `verify_receipt` accepts the receipt the browser brought back:

    from verify_receipt import verify_receipt, ReceiptError

    claims = verify_receipt(
        receipt,
        jwks_url="https://verify.example.co.id/.well-known/jwks.json",
        issuer="dukcapil-facematch",      # the proxy's RECEIPT_ISSUER
        audience="example-backend",       # the `iss` of the caller tokens you mint
        subject=user_id,                  # the `sub` you put in the token
        txn=transaction_id,               # the `txn` you put in the token
        nik_hmac=nik_hmac,                # the `nik_hmac` you put in the token
    )
    if claims["outcome"] == "match": ...

Install: pip install --require-hashes -r requirements.txt (PyJWT and cryptography, pinned).
From a shell: python verify_receipt.py RECEIPT --jwks-url … --issuer … --audience … --subject …
--txn … [--nik-hmac …] [--allow-sandbox]; `--batch` reads a JSON list of cases on stdin (the
tests use it).
"""

from __future__ import annotations

import argparse
import json
import sys

import jwt

RECEIPT_TYP = "dukcapil-receipt+jwt"
REQUIRED = ["iss", "jti", "iat", "exp", "txn", "outcome", "request_id", "sandbox"]
_CLIENTS: dict[str, jwt.PyJWKClient] = {}


class ReceiptError(Exception):
    """Why a receipt was refused; `code` is a stable string."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _signing_key(receipt: str, kid: str, jwks_url: str | None, jwks: dict | None):
    if jwks is not None:
        for key in jwt.PyJWKSet.from_dict(jwks).keys:
            if key.key_id == kid:
                return key.key
        raise ReceiptError("unknown_key", f"no key {kid!r} in the JWKS")
    if jwks_url is None:
        raise ValueError("pass jwks_url (or a jwks dict)")
    # One client per URL, so the JWKS is fetched once and refetched for an unknown kid.
    client = _CLIENTS.setdefault(jwks_url, jwt.PyJWKClient(jwks_url, cache_keys=True))
    try:
        return client.get_signing_key_from_jwt(receipt).key
    except jwt.PyJWKClientError as e:
        raise ReceiptError("unknown_key", str(e)) from e


def verify_receipt(
    receipt: str,
    *,
    issuer: str,
    audience: str,
    subject: str,
    txn: str,
    nik_hmac: str | None = None,
    token_jti: str | None = None,
    allow_sandbox: bool = False,
    jwks_url: str | None = None,
    jwks: dict | None = None,
    leeway: int = 30,
) -> dict:
    """Returns the receipt's claims, or raises ReceiptError: ES256 only, typ
    dukcapil-receipt+jwt, a key of the proxy's JWKS, unexpired, and `iss`, `aud`, `sub`, `txn`,
    `nik_hmac` and `token_jti` as expected; a sandbox receipt only with allow_sandbox."""
    try:
        header = jwt.get_unverified_header(receipt)
    except jwt.DecodeError as e:
        raise ReceiptError("malformed", str(e)) from e
    # Never let the token pick the algorithm: "none", HS256 signed with the public key and the
    # like are refused here, and again by `algorithms` below.
    if header.get("alg") != "ES256":
        raise ReceiptError("algorithm", f"alg {header.get('alg')!r} is not ES256")
    if header.get("typ") != RECEIPT_TYP:
        raise ReceiptError("type", f"typ {header.get('typ')!r} is not {RECEIPT_TYP}")
    key = _signing_key(receipt, header.get("kid"), jwks_url, jwks)
    try:
        claims = jwt.decode(
            receipt,
            key,
            algorithms=["ES256"],
            issuer=issuer,
            audience=audience,
            leeway=leeway,
            options={"require": REQUIRED},
        )
    except jwt.ExpiredSignatureError as e:
        raise ReceiptError("expired", str(e)) from e
    except jwt.InvalidSignatureError as e:
        raise ReceiptError("signature", str(e)) from e
    except jwt.InvalidAudienceError as e:
        raise ReceiptError("audience", str(e)) from e
    except jwt.InvalidIssuerError as e:
        raise ReceiptError("issuer", str(e)) from e
    except jwt.InvalidAlgorithmError as e:
        raise ReceiptError("algorithm", str(e)) from e
    except (jwt.ImmatureSignatureError, jwt.InvalidIssuedAtError) as e:
        raise ReceiptError("not_yet_valid", str(e)) from e
    except jwt.InvalidTokenError as e:
        raise ReceiptError("malformed", str(e)) from e

    def expect(ok: bool, code: str, what: str) -> None:
        if not ok:
            raise ReceiptError(code, f"receipt {what} does not match")

    expect(claims.get("sub") == subject, "subject", "sub")
    expect(claims.get("txn") == txn, "transaction", "txn")
    if nik_hmac is not None:
        expect(claims.get("nik_hmac") == nik_hmac, "nik", "nik_hmac")
    if token_jti is not None:
        expect(claims.get("token_jti") == token_jti, "token", "token_jti")
    expect(isinstance(claims.get("sandbox"), bool), "malformed", "sandbox")
    if claims["sandbox"] and not allow_sandbox:
        raise ReceiptError("sandbox", "a sandbox receipt: the outcome was simulated, not verified")
    if claims["outcome"] in ("match", "no_match"):
        expect(
            claims.get("match") is (claims["outcome"] == "match")
            and isinstance(claims.get("score"), (int, float)),
            "malformed",
            "verdict",
        )
    return claims


def _case(case: dict) -> dict:
    try:
        claims = verify_receipt(
            case["receipt"],
            issuer=case["issuer"],
            audience=case["audience"],
            subject=case["subject"],
            txn=case["txn"],
            nik_hmac=case.get("nik_hmac"),
            token_jti=case.get("token_jti"),
            allow_sandbox=case.get("allow_sandbox", False),
            jwks_url=case.get("jwks_url"),
            jwks=case.get("jwks"),
        )
        return {"ok": True, "claims": claims}
    except ReceiptError as e:
        return {"ok": False, "error": e.code, "message": str(e)}


def main() -> int:
    p = argparse.ArgumentParser(description="Verify a dukcapil-facematch receipt.")
    p.add_argument("receipt", nargs="?")
    p.add_argument("--batch", action="store_true", help="read a JSON list of cases on stdin")
    p.add_argument("--jwks-url")
    p.add_argument("--issuer", default="dukcapil-facematch")
    p.add_argument("--audience")
    p.add_argument("--subject")
    p.add_argument("--txn")
    p.add_argument("--nik-hmac")
    p.add_argument("--allow-sandbox", action="store_true")
    a = p.parse_args()
    if a.batch:
        json.dump([_case(c) for c in json.load(sys.stdin)], sys.stdout)
        return 0
    if not (a.receipt and a.jwks_url and a.audience and a.subject and a.txn):
        p.error("RECEIPT, --jwks-url, --audience, --subject and --txn are required")
    result = _case({**vars(a), "allow_sandbox": a.allow_sandbox})
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
