"""Pydantic models at the edge: what the API accepts and returns (published in ``/openapi.json``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from quotawarden.app.instances import AUTH_KEYS

HealthStatus = Literal["GREEN", "YELLOW", "RED", "UNKNOWN"]
Framework = Literal["claude", "opencode"]
InstanceState = Literal["active", "idle", "paused"]


class Error(BaseModel):
    error: str
    detail: Any = None


class OpencodeKey(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    key: str = Field(min_length=1, max_length=4096)


class ClaudeCredentials(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    accessToken: str = Field(min_length=1, max_length=8192)
    refreshToken: str = Field("", max_length=8192)
    expiresAt: float = 0


def _one_provider_schema(schema: dict[str, Any]) -> None:
    """The schema says what registration needs: at least one known provider (an ``opencode_auth`` entry under a
    name quotawarden reads, Claude credentials, or a GitHub token); names it does not read are allowed, ignored."""
    schema["anyOf"] = [
        {"required": ["opencode_auth"],
         "properties": {"opencode_auth": {"anyOf": [{"required": [n]} for n in sorted(AUTH_KEYS)]}}},
        {"required": ["claude_credentials"], "properties": {"claude_credentials": {"type": "object"}}},
        {"required": ["github_token"], "properties": {"github_token": {"type": "string", "minLength": 1}}},
    ]


class AuthBlock(BaseModel):
    model_config = ConfigDict(strict=True, json_schema_extra=_one_provider_schema)
    opencode_auth: dict[str, OpencodeKey] = Field(default_factory=dict)
    claude_credentials: ClaudeCredentials | None = None
    github_token: str | None = Field(None, max_length=4096)

    @model_validator(mode="after")
    def _one_provider(self) -> AuthBlock:
        if not (set(self.opencode_auth) & set(AUTH_KEYS) or self.claude_credentials is not None
                or self.github_token):
            raise ValueError("no known provider in auth: give an opencode_auth entry under one of "
                             f"{', '.join(sorted(AUTH_KEYS))}, claude_credentials or github_token")
        return self


def _integral(value: Any) -> Any:
    """JSON Schema's ``integer`` includes ``2813.0``: a float without a fraction is that integer."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


class RegisterRequest(BaseModel):
    model_config = ConfigDict(strict=True)
    project_name: str = Field(min_length=1, max_length=500)
    framework: Framework = "opencode"
    auth: AuthBlock
    poll_interval: Annotated[int, BeforeValidator(_integral)] = Field(300, ge=30, le=86400)
    provider_config: dict[str, dict[str, Any]] = Field(default_factory=dict)
    hard_caps: dict[str, float] = Field(default_factory=dict)


class RegisterResponse(BaseModel):
    instance_id: str
    api_key: str
    providers: list[str]
    poll_interval: int


class StatusOk(BaseModel):
    status: str = "ok"


class HeartbeatRequest(BaseModel):
    model_config = ConfigDict(strict=True)
    state: InstanceState | None = None


class WindowStatus(BaseModel):
    utilization: float
    velocity_pct_per_hour: float
    projected_exhaustion_min: int | None = None
    resets_at: str | None = None
    status: HealthStatus
    cap: float | None = None


class ProviderStatus(BaseModel):
    status: HealthStatus
    error: str | None = None
    windows: dict[str, WindowStatus] | None = None


class CentralWatchdog(BaseModel):
    active_instances: int
    budget_weight: float
    mode: Literal["centralized"] = "centralized"


class NextAccount(BaseModel):
    """The planner's pick among the instance's accounts (as ``quotawarden next``)."""

    account: str
    provider: str
    model: str | None = None
    window: str | None = None
    reason: str


class InstanceStatus(BaseModel):
    timestamp: str
    instance_id: str
    framework: Framework
    overall_status: HealthStatus
    recommendation: Literal["PROCEED", "PROCEED_SMALL_ONLY", "STOP"]
    next_account: NextAccount | None = None
    message: str
    providers: dict[str, ProviderStatus]
    alternative_providers: list[str]
    all_exhausted: bool
    central_watchdog: CentralWatchdog


class ProviderDetail(BaseModel):
    name: str
    status: HealthStatus
    fingerprint: str | None = None
    subscribers: list[str] = Field(default_factory=list)
    error: str | None = None
    windows: dict[str, WindowStatus] | None = None


class PollResponse(BaseModel):
    status: str
    accounts: list[str]


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    uptime: int
    providers: int
    instances: int
    database: str
    replica: str


class JobRunOut(BaseModel):
    job: str
    host: str | None
    started_at: str
    duration_s: float | None
    outcome: str | None
    detail: str | None


class AlertAck(BaseModel):
    model_config = ConfigDict(strict=True)
    by: str = Field("api", max_length=200)
