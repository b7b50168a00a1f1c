"""Who is calling: an agent instance (``X-API-Key``), the admin (``Authorization: Bearer <admin token>``) or a
seat of the hub (``Authorization: Bearer <seat token>``, ``[[hub.seats]]``: only the hub's and OTLP routes).

Keys are compared as hashes in constant time; a wrong key and a missing key both get 401, a right key on
someone else's instance gets 403.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request

from quotawarden.app import instances
from quotawarden.app.instances import hash_key
from quotawarden.domain import Instance
from quotawarden.interfaces.api.state import ApiState, api_state

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="quotawarden", ApiKey header="X-API-Key"'}


@dataclass(frozen=True, slots=True)
class Caller:
    admin: bool
    instance: Instance | None = None


def bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() == "bearer" and token:
        return token.strip()
    return request.headers.get("x-admin-token") or request.cookies.get("qw_admin")


def is_admin(st: ApiState, token: str | None) -> bool:
    return bool(st.admin_token and token and hmac.compare_digest(token.encode(), st.admin_token.encode()))


async def _instance(st: ApiState, key: str) -> Instance | None:
    """A dict lookup on the key's hash in the status board; the database only for a key the board does not
    know yet (registered on another replica), and then cached for two seconds, found or not."""
    h = hash_key(key)
    found = (await st.board.get()).by_hash.get(h)
    if found is None:
        found = await st.keys.aget(h, lambda: instances.by_key_hash(st.service, h))
    if found is not None and hmac.compare_digest(found.api_key_hash, h):
        return found
    return None


async def caller(request: Request, st: ApiState = Depends(api_state)) -> Caller:
    """An instance or the admin; anything else is 401."""
    key = request.headers.get("x-api-key")
    if key:
        if is_admin(st, key):
            return Caller(admin=True)
        inst = await _instance(st, key)
        if inst is not None:
            return Caller(admin=False, instance=inst)
        raise HTTPException(401, "the X-API-Key is not valid", headers=_CHALLENGE)
    token = bearer(request)
    if token is None:
        raise HTTPException(401, "send X-API-Key (instance) or Authorization: Bearer <admin token> (without "
                                 "server.admin_token, serve writes one to the file admin-token in its data dir and "
                                 "prints where)", headers=_CHALLENGE)
    if is_admin(st, token):
        return Caller(admin=True)
    raise HTTPException(401, "the admin token is not valid", headers=_CHALLENGE)


def admin(who: Caller = Depends(caller)) -> Caller:
    if not who.admin:
        raise HTTPException(403, "this endpoint needs the admin token")
    return who


def owner_or_admin(instance_id: str, who: Caller) -> None:
    if who.admin:
        return
    if who.instance is None or not hmac.compare_digest(who.instance.id.encode(), instance_id.encode()):
        raise HTTPException(403, "this key belongs to another instance")


def seat_of(st: ApiState, token: str | None) -> str | None:
    """The seat whose ``[[hub.seats]]`` token this is, else None. Every seat's token is compared, each in constant
    time, so the answer's timing says nothing about which seat (or how much of a token) matched."""
    if not token:
        return None
    found = None
    given = token.encode()
    for known, name in st.seat_tokens.items():
        if hmac.compare_digest(given, known.encode()):
            found = name
    return found


@dataclass(frozen=True, slots=True)
class HubCaller:
    """The admin (``seat`` None: reads every seat) or one seat (pushes and reads its own seat only)."""

    seat: str | None

    @property
    def admin(self) -> bool:
        return self.seat is None


def hub_caller(request: Request, st: ApiState = Depends(api_state)) -> HubCaller:
    """The admin or a seat; 401 for anything else."""
    token = bearer(request)
    if token is None:
        raise HTTPException(401, "send Authorization: Bearer <seat token> (or the admin token)", headers=_CHALLENGE)
    if is_admin(st, token):
        return HubCaller(None)
    seat = seat_of(st, token)
    if seat is None:
        raise HTTPException(401, "the token is neither a seat's ([[hub.seats]]) nor the admin token",
                            headers=_CHALLENGE)
    return HubCaller(seat)


def may_read_seat(who: HubCaller, seat: str) -> None:
    """A seat reads its own seat only (403 for another's); the admin reads all."""
    if who.seat is not None and not hmac.compare_digest(who.seat.encode(), seat.encode()):
        raise HTTPException(403, "this seat token reads its own seat only")
