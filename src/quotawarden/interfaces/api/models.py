"""Pydantic models at the edge: what the API accepts and returns (published in ``/openapi.json``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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


class AuthBlock(BaseModel):
    model_config = ConfigDict(strict=True)
    opencode_auth: dict[str, OpencodeKey] = Field(default_factory=dict)
    claude_credentials: ClaudeCredentials | None = None
    github_token: str | None = Field(None, max_length=4096)


class RegisterRequest(BaseModel):
    model_config = ConfigDict(strict=True)
    project_name: str = Field(min_length=1, max_length=500)
    framework: Framework = "opencode"
    auth: AuthBlock
    poll_interval: int = Field(300, ge=30, le=86400)
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
