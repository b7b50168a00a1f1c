"""What a use case needs from the application: the ``AppContext`` protocol that ``Service`` satisfies.

Use cases (polling, agent logs, proxy wiring, instances) receive an ``AppContext`` rather than the ``Service``
itself, so the facade imports the use cases and never the other way round.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import httpx

    from quotawarden.actions.desk import ActionDesk
    from quotawarden.analysis.status import AccountStatus
    from quotawarden.clock import Clock
    from quotawarden.config import Config
    from quotawarden.credentials.secretbox import SecretBox
    from quotawarden.domain import Account
    from quotawarden.plugins import Plugins
    from quotawarden.store import Store


class AppContext(Protocol):
    """The configuration, plug-ins, clock and store, and the few services every use case shares."""

    config: Config
    plugins: Plugins
    clock: Clock
    probe_transport: httpx.AsyncBaseTransport | None

    @property
    def store(self) -> Store: ...

    @property
    def actions(self) -> ActionDesk: ...

    @property
    def secret_box(self) -> SecretBox: ...

    def now(self) -> datetime: ...

    def accounts(self) -> list[Account]: ...

    def audit(self, actor: str, action: str, subject: str = "", **detail: Any) -> None: ...

    def resolve_credential(self, ref: str | None, account: str = "") -> str | None: ...

    def status(self, account_ids: Sequence[str] | None = None) -> list[AccountStatus]: ...
