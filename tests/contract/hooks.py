"""Schemathesis hooks of the contract run (`cargo xtask contract`, and `cargo xtask test`):
realistic data for the routes whose rules no schema can state, so that generated requests
reach the collector's real logic instead of stopping at "unknown site" or "sign in".

Loaded through SCHEMATHESIS_HOOKS (xtask/src/contract.rs sets it). Everything happens in
`before_call`, at request time, on the data schemathesis generated:

- `POST /v1/batch`: the batch names the contract site, `sent_at` is now and every event's
  `ts` is within the 7 days before it (spread by what was generated);
- the shopper routes: the customer (often one of a few shoppers the order webhooks pay, so
  that redemptions have points to spend) is signed with the identity key, as the site's
  server would, and `x-rapport-visitor` is a UUID;
- the order webhook and coupon consumption: signed with the webhook key over the exact
  bytes sent, at the current time; refunds, referral codes and coupons often name ones the
  collector issued earlier in the run (recorded in `after_call`).

Negative data stays negative: a component schemathesis generated to break the schema is
left as it is (its site or times are pinned only where they are valid values, so the 4xx
answers the broken part, not the unknown site), and a header is only ever replaced, never
added, so a request missing a required header still misses it. An identity or signature is
computed only when the headers are valid, or when the broken header is another one (so an
invalid `idempotency-key` meets a valid identity and the 400 it deserves).
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import os
import re
import time
import tomllib
import uuid

import requests
import schemathesis
from schemathesis.core import NotSet
from schemathesis.core.parameters import ParameterLocation

_CONFIG = os.environ.get(
    "RAPPORT_CONTRACT_CONFIG", os.path.join(os.path.dirname(os.path.abspath(__file__)), "rapport.toml")
)
with open(_CONFIG, "rb") as f:
    _SITE = tomllib.load(f)["site"][0]
SITE: str = _SITE["id"]
SECRET: bytes = _SITE["secret"].encode()
REWARDS: list[str] = [r["id"] for r in _SITE.get("loyalty", {}).get("rewards", [])]

DAY_MS = 86_400_000
# Shoppers that the order webhooks pay and the shopper routes sign in as, so that points
# earned are points to redeem.
SHOPPERS = [f"contract-shopper-{n}" for n in range(4)]
SITE_ID = re.compile(r"^[a-z0-9_.-]{1,64}$")
IDENTITY_HEADERS = {"x-rapport-user", "x-rapport-user-hash"}
SIGNATURE_HEADER = "x-rapport-signature"
SHOPPER_ROUTES = ("/v1/sites/{site}/loyalty", "/v1/sites/{site}/loyalty/redeem", "/v1/sites/{site}/referral")
PROGRAM_ROUTES = (*SHOPPER_ROUTES, "/v1/sites/{site}/orders", "/v1/sites/{site}/coupons/{code}/consume")

# What the collector issued during the run, for later requests to name.
PAID_ORDERS: list[str] = []
REFERRAL_CODES: list[str] = []
COUPONS: list[str] = []


def _key(label: str) -> bytes:
    return hmac.new(SECRET, label.encode(), hashlib.sha256).digest()


IDENTITY_KEY = _key("rapport-identity-v1")
WEBHOOK_KEY = _key("rapport-webhook-v1")


def _hmac(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _pick(value: object, n: int) -> int:
    """A stable choice in 0..n-1 derived from a generated value (the run stays seeded)."""
    digest = hashlib.sha256(repr(value).encode()).digest()
    return int.from_bytes(digest[:4], "big") % n


def _negative(case, location: ParameterLocation) -> bool:
    meta = case._meta
    return meta is not None and meta.is_negative_at(location)


def _broken_parameter(case) -> str | None:
    """The header a negative case broke, when schemathesis says which one."""
    meta = case._meta
    if meta is None:
        return None
    data = meta.phase.data
    if getattr(data, "parameter_location", None) != ParameterLocation.HEADER:
        return None
    parameter = getattr(data, "parameter", None)
    return parameter.lower() if isinstance(parameter, str) else None


def _headers_signable(case, names: set[str]) -> bool:
    """Whether to compute the proof headers `names`: valid headers, or another one broken."""
    if not _negative(case, ParameterLocation.HEADER):
        return True
    broken = _broken_parameter(case)
    return broken is not None and broken not in names


def _is_uint(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _now_ms() -> int:
    return int(time.time() * 1000)


def _body_bytes(case) -> bytes | None:
    """The bytes to send for the case's body (as requests would for JSON), or None."""
    body = case.body
    if isinstance(body, NotSet):
        return b""
    if isinstance(body, bytes):
        return body
    try:
        return json.dumps(body).encode()
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------------------------------
# POST /v1/batch


def _batch(case, kwargs: dict) -> None:
    body = case.body
    if isinstance(body, dict):
        _pin_batch(body, _negative(case, ParameterLocation.BODY))
    # `?encoding=gzip` says the body is gzip-compressed, as a beacon sends it: so it is, the
    # broken bodies too, so that their 400 names what is broken in them, not the encoding.
    query = case.query or {}
    if query.get("encoding") == "gzip" and not _negative(case, ParameterLocation.QUERY):
        raw = _body_bytes(case)
        if raw:
            kwargs["data"] = gzip.compress(raw, mtime=0)


def _pin_batch(body: dict, negative: bool) -> None:
    if isinstance(body.get("site"), str) and (not negative or SITE_ID.match(body["site"])):
        body["site"] = SITE
    now = _now_ms()
    if not negative or _is_uint(body.get("sent_at")):
        body["sent_at"] = now
    sent_at = body.get("sent_at")
    events = body.get("events")
    if not _is_uint(sent_at) or not isinstance(events, list):
        return
    for event in events:
        if isinstance(event, dict) and (not negative or _is_uint(event.get("ts"))):
            # Within the 7 days before sent_at, spread by the generated value (some a few
            # seconds after it, as a clock that ticked between the event and the batch).
            ts = event.get("ts")
            offset = ts % (7 * DAY_MS - 60_000) if _is_uint(ts) else 0
            event["ts"] = max(0, sent_at + 30_000 - offset)


# ------------------------------------------------------------------------------------------
# Shopper routes: loyalty, redeem, referral


def _shopper(case) -> None:
    headers = case.headers
    if headers is None:
        return
    user = headers.get("x-rapport-user")
    if isinstance(user, str) and "x-rapport-user-hash" in headers and _headers_signable(case, IDENTITY_HEADERS):
        # Mostly one of the paid shoppers; otherwise the generated id, when it is one the
        # collector would see intact (1-256 printable ASCII characters).
        printable = 0 < len(user) <= 256 and user.isascii() and user.isprintable() and user == user.strip()
        if _pick(user, 3) != 0 or not printable:
            user = SHOPPERS[_pick(user, len(SHOPPERS))]
        headers["x-rapport-user"] = user
        headers["x-rapport-user-hash"] = _hmac(IDENTITY_KEY, user.encode())
    visitor = headers.get("x-rapport-visitor")
    if isinstance(visitor, str) and not _negative(case, ParameterLocation.HEADER):
        headers["x-rapport-visitor"] = str(uuid.UUID(int=_pick(visitor, 2**31) * 2**64 + 0x4000_8000_0000_0000))
    body = case.body
    if (
        case.path.endswith("/redeem")
        and isinstance(body, dict)
        and isinstance(body.get("reward"), str)
        and REWARDS
        and not _negative(case, ParameterLocation.BODY)
        and _pick(body["reward"], 4) != 0
    ):
        body["reward"] = REWARDS[_pick(body["reward"], len(REWARDS))]


# ------------------------------------------------------------------------------------------
# Signed by the site's server: the order webhook and coupon consumption


def _order(case) -> None:
    body = case.body
    if not isinstance(body, dict) or _negative(case, ParameterLocation.BODY):
        return
    order_id = body.get("order_id")
    if body.get("type") == "order.paid":
        customer = body.get("customer_id")
        if isinstance(customer, str) and _pick(customer, 3) != 0:
            body["customer_id"] = SHOPPERS[_pick(customer, len(SHOPPERS))]
        code = body.get("referral_code")
        if isinstance(code, str) and REFERRAL_CODES and _pick(code, 2) == 0:
            body["referral_code"] = REFERRAL_CODES[_pick(code, len(REFERRAL_CODES))]
        visitor = body.get("visitor_id")
        if isinstance(visitor, str):
            body["visitor_id"] = str(uuid.UUID(int=_pick(visitor, 2**31) * 2**64 + 0x4000_8000_0000_0000))
    elif body.get("type") == "order.refunded" and isinstance(order_id, str) and PAID_ORDERS:
        if _pick(order_id, 3) != 0:
            body["order_id"] = PAID_ORDERS[_pick(order_id, len(PAID_ORDERS))]


def _coupon(case) -> None:
    code = case.path_parameters.get("code") if case.path_parameters else None
    if isinstance(code, str) and COUPONS and not _negative(case, ParameterLocation.PATH) and _pick(code, 3) != 0:
        case.path_parameters["code"] = COUPONS[_pick(code, len(COUPONS))]


def _sign(case, kwargs: dict, message) -> None:
    """Signs the bytes sent with the webhook key, replacing a generated signature header."""
    headers = case.headers
    if headers is None or SIGNATURE_HEADER not in headers or not _headers_signable(case, {SIGNATURE_HEADER}):
        return
    body = _body_bytes(case)
    if body is None:
        return
    t = int(time.time())
    headers[SIGNATURE_HEADER] = f"t={t},sha256={_hmac(WEBHOOK_KEY, message(t, body))}"
    # Exactly these bytes go out: the signature covers them.
    if body:
        kwargs["data"] = body


_SEEDED = False


def _seed(case) -> None:
    """Once, before the first request to the programs' routes, what a site's customers have
    done before: each shopper paid an order (points to redeem), a few redeemed coupons (to
    consume) and opened the referral panel (codes for referred orders)."""
    global _SEEDED
    if _SEEDED:
        return
    _SEEDED = True
    base = case.operation.schema.get_base_url().rstrip("/") + f"/v1/sites/{SITE}"
    with requests.Session() as session:
        for n, shopper in enumerate(SHOPPERS):
            order = {
                "type": "order.paid",
                "order_id": f"contract-seed-{n}",
                "customer_id": shopper,
                "email": f"{shopper}@example.com",
                "amount_cents": 1_000_000,
            }
            body = json.dumps(order).encode()
            t = int(time.time())
            signature = f"t={t},sha256={_hmac(WEBHOOK_KEY, f'rapport-webhook.{t}.'.encode() + body)}"
            answer = session.post(
                f"{base}/orders", data=body, headers={SIGNATURE_HEADER: signature, "content-type": "application/json"}
            )
            if answer.ok:
                _remember(PAID_ORDERS, order["order_id"])
            identity = {"x-rapport-user": shopper, "x-rapport-user-hash": _hmac(IDENTITY_KEY, shopper.encode())}
            for reward in REWARDS:
                for k in range(2):
                    answer = session.post(
                        f"{base}/loyalty/redeem",
                        json={"reward": reward},
                        headers={**identity, "idempotency-key": f"contract-seed-{reward}-{k}"},
                    )
                    if answer.ok:
                        _remember(COUPONS, answer.json().get("coupon"))
            answer = session.get(f"{base}/referral", headers=identity)
            if answer.ok:
                _remember(REFERRAL_CODES, answer.json().get("code"))


@schemathesis.hook
def before_call(context, case, kwargs):
    path = case.path
    if path == "/v1/batch":
        _batch(case, kwargs)
    elif path in PROGRAM_ROUTES:
        _seed(case)
    if path in SHOPPER_ROUTES:
        _shopper(case)
    elif path == "/v1/sites/{site}/orders":
        _order(case)
        _sign(case, kwargs, lambda t, body: f"rapport-webhook.{t}.".encode() + body)
    elif path == "/v1/sites/{site}/coupons/{code}/consume":
        _coupon(case)
        code = case.path_parameters.get("code") if case.path_parameters else None
        if isinstance(code, str):
            _sign(case, kwargs, lambda t, body: f"rapport-coupon.{t}.{code}.".encode() + body)


@schemathesis.hook
def after_call(context, case, response):
    """Records what the collector issued, for later requests to name."""
    if not 200 <= response.status_code < 300:
        return
    try:
        answer = json.loads(response.content)
    except ValueError:
        return
    if not isinstance(answer, dict):
        return
    path = case.path
    if path == "/v1/sites/{site}/orders" and "points" in answer:
        _remember(PAID_ORDERS, answer.get("order_id"))
    elif path == "/v1/sites/{site}/referral":
        _remember(REFERRAL_CODES, answer.get("code"))
    elif path == "/v1/sites/{site}/loyalty/redeem":
        _remember(COUPONS, answer.get("coupon"))


def _remember(into: list[str], value: object) -> None:
    if isinstance(value, str) and value not in into:
        into.append(value)
        del into[:-64]


# With RAPPORT_CONTRACT_LOG=<file>, every answer is logged (one JSON line: operation,
# generation mode per component, phase, status, error), for counting what was accepted.
_LOG = os.environ.get("RAPPORT_CONTRACT_LOG")


@schemathesis.hook("after_call")
def log_answer(context, case, response):
    if not _LOG:
        return
    meta = case._meta
    record = {
        "op": f"{case.method} {case.path}",
        "status": response.status_code,
        "phase": meta.phase.name.value if meta else None,
        "modes": {loc.value: info.mode.value for loc, info in meta.components.items()} if meta else {},
        "answer": response.content[:300].decode(errors="replace") if response.status_code >= 400 else None,
    }
    with open(_LOG, "a") as out:
        out.write(json.dumps(record) + "\n")
