"""Tables of seats that push to a hub: on the hub, when each seat last pushed; on a seat, how far it has pushed.

What a seat pushes lands in the ordinary tables (accounts, samples, latest samples, account state, usage events,
outcome hours) under ``<seat>/<account>``; only the bookkeeping of pushes lives here.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Integer, String, Table

from quotawarden.store.schema import metadata

hub_seats = Table(
    "hub_seats",
    metadata,
    Column("seat", String(64), primary_key=True),
    Column("first_push_ts", Float, nullable=False),
    Column("last_push_ts", Float, nullable=False),
    Column("last_push_id", String(64), nullable=False),
    Column("interval_s", Float),
    # the seat's own clock at its last push (its readings' times are the seat's clock)
    Column("sent_ts", Float),
    Column("pushes", Integer, nullable=False, default=0),
    Column("rows", BigInteger, nullable=False, default=0),
)

hub_cursors = Table(
    "hub_cursors",
    metadata,
    Column("hub", String(500), primary_key=True),
    # the last sample id and usage event time the hub acknowledged
    Column("samples_id", BigInteger, nullable=False, default=0),
    Column("usage_ts", Float, nullable=False, default=0),
    Column("outcomes_hour", Float, nullable=False, default=0),
    Column("pushed_ts", Float),
    Column("pushes", Integer, nullable=False, default=0),
)
