"""Request and response bodies of the JSON API (they make its OpenAPI document)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SecretName = Literal[
    "lwa_client_id", "lwa_client_secret", "lwa_refresh_token", "saleslayer_secret", "alert_webhook"
]


class Problem(BaseModel):
    """An error: what was wrong, where, and what to do."""

    error: str
    where: str | None = None
    fix: str | None = None
    problems: list[dict[str, Any]] | None = None


class ConnectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["vendor-eu"])
    #: The listingsync.yaml document, as JSON.
    config: dict[str, Any]
    #: Write-only: never returned.
    secrets: dict[SecretName, str] = Field(default_factory=dict)
    #: Where relative paths of the document resolve (default: the service's directory).
    base_dir: str | None = None
    enabled: bool = True


class ConnectionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    config: dict[str, Any] | None = None
    secrets: dict[SecretName, str] = Field(default_factory=dict)
    base_dir: str | None = None
    enabled: bool | None = None


class ConnectionOut(BaseModel):
    name: str
    enabled: bool
    account_type: str | None
    selling_partner_id: str | None
    config: dict[str, Any]
    base_dir: str
    #: Names of the secrets set; values are never returned.
    secrets_set: list[str]
    next_run_at: str | None
    created_at: str | None
    updated_at: str | None


class CheckStepOut(BaseModel):
    name: str
    ok: bool
    message: str
    fix: str | None


class CheckOut(BaseModel):
    ok: bool
    steps: list[CheckStepOut]


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["send", "dry-run", "preview"] = "send"


class RunOut(BaseModel):
    id: int
    connection: str | None
    trigger: str
    mode: str
    status: Literal["queued", "running", "succeeded", "partial", "failed", "cancelled", "skipped"]
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    duration_s: float | None
    counts: dict[str, Any]
    progress: dict[str, Any] | None
    error: str | None
    fix: str | None
    cancel_requested: bool
    #: Dry runs and previews: the per-SKU plan or Amazon's verdicts (GET /runs/{id} only).
    result: dict[str, Any] | None = None


class RunPage(BaseModel):
    items: list[RunOut]
    #: Pass as ``before`` for the next (older) page; null at the end.
    next_before: int | None


class ListingOut(BaseModel):
    sku: str
    marketplace_id: str
    country: str | None
    status: str
    asin: str | None
    product_type: str | None
    parent_sku: str | None
    origin: str | None
    errors: int
    warnings: int
    pending: str | None
    submission_id: str | None
    updated_at: str | None


class ListingPage(BaseModel):
    items: list[ListingOut]
    #: Pass as ``after`` for the next page; null at the end.
    next: str | None


class IssueOut(BaseModel):
    sku: str
    marketplace_id: str
    status: str
    severity: str | None
    code: str | None
    attributes: list[str]
    message: str | None
    source: str


class IssuePage(BaseModel):
    items: list[IssueOut]
    next: str | None


class PreviewIssue(BaseModel):
    severity: str
    code: str | None
    attribute: str | None
    path: str | None
    message: str


class PreviewListing(BaseModel):
    marketplace_id: str
    country: str
    product_type: str | None
    requirements: str
    attributes: dict[str, Any]
    issues: list[PreviewIssue]


class PreviewOut(BaseModel):
    sku: str
    origin: str
    source: dict[str, Any]
    problems: list[str]
    listings: list[PreviewListing]


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    database: str
