"""Settings read once from the environment at the edge and passed down explicitly."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict


class Mode(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class IceServer(BaseModel):
    """One STUN/TURN server handed to aiortc and to the clients."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    urls: list[str] = Field(min_length=1)
    username: str | None = None
    credential: str | None = None


class Settings(BaseSettings):
    """Every knob of the server; names map to `MC_<NAME>` environment variables."""

    model_config = SettingsConfigDict(env_prefix="MC_", extra="ignore", frozen=True)

    mode: Mode = Mode.DEVELOPMENT
    var_dir: Path = Path("./var")
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("MC_DATABASE_URL", "DATABASE_URL"),
        description="sqlite://… or postgres://…; empty means the embedded SQLite file in var_dir",
    )
    db_pool_max: int = 10
    auto_migrate: bool | None = Field(
        default=None, description="apply migrations at server start; default: only for SQLite"
    )

    host: str = "127.0.0.1"
    port: int = 8080
    public_base_url: str = "http://127.0.0.1:8080"

    jwt_issuer: str = "mobile-court"
    jwt_audience: str = "mobile-court-api"
    access_token_ttl_s: int = Field(default=600, ge=30, le=900)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, ge=600)
    session_cache_ttl_s: float = Field(
        default=5.0, ge=0, le=60, description="validated sessions kept in memory; 0 disables"
    )
    # Secrets: when empty they are generated into var_dir/secrets (development only).
    jwt_keys_file: Path | None = None
    field_encryption_key: SecretStr | None = None
    server_signing_key_file: Path | None = None

    max_json_body: int = Field(default=256 * 1024, description="bytes for JSON bodies")
    max_json_depth: int = 32
    max_upload_bytes: int = 50 * 1024 * 1024

    blob_backend: str = Field(default="local", pattern="^(local|s3)$")
    blob_dir: Path | None = None
    s3_endpoint_url: str | None = None
    s3_bucket: str = "mobile-court"
    s3_region: str = "us-east-1"
    s3_access_key: SecretStr | None = None
    s3_secret_key: SecretStr | None = None

    run_worker: bool = Field(default=True, description="run the job worker inside the server")
    worker_concurrency: int = Field(default=4, ge=1, le=64)
    job_lease_s: int = Field(default=60, ge=5)
    job_poll_s: float = Field(default=0.5, gt=0)
    audit_checkpoint_interval_s: int = Field(default=3600, ge=1)
    # Filing: the court admin's clock alerts (CPL Art. 126's 7-day decision clock).
    filing_clock_alert_days: int = Field(default=1, ge=0, le=7)
    filing_clock_sweep_interval_s: int = Field(default=900, ge=10)

    # External platforms, reached over HTTP at configurable base URLs (the fakes in miniapp_stub
    # answer on the defaults: `mobile-court fake-wechat`).
    wechat_base_url: str = "http://127.0.0.1:8930"
    wechat_appid: str = "wxf00dcafe0000c0de"
    wechat_secret: SecretStr = SecretStr("fa4e5ec2e7000000fa4e5ec2e7000000")
    # Subscribe-message template for hearing and mediation notices (keywords thing1 case,
    # thing2 what, time3 when).
    wechat_template_hearing_notice: str = "mc_hearing_notice"
    sms_base_url: str = "http://127.0.0.1:8930/sms"
    sms_api_key: SecretStr = SecretStr("fake-sms-key")
    # WeChat Pay (JSAPI v3); the payment endpoints answer 503 until the key files are configured.
    wechat_pay_base_url: str = "http://127.0.0.1:8930"
    wechat_pay_mchid: str = ""
    wechat_pay_merchant_serial: str = ""
    wechat_pay_merchant_key_file: Path | None = None
    wechat_pay_apiv3_key: SecretStr | None = None
    wechat_pay_platform_serial: str = ""
    wechat_pay_platform_public_key_file: Path | None = None

    # Face verification: a bounded pool (a job beyond workers + queue is refused at once, 429
    # with Retry-After, instead of queueing behind seconds of CPU work) driving worker processes.
    face_workers: int = Field(default=2, ge=1, le=16, description="face jobs at once (one a core)")
    face_queue: int = Field(
        default=4, ge=0, le=256, description="face jobs admitted beyond the running ones"
    )
    face_processes: bool = Field(
        default=True,
        description="run dlib in worker processes (its encoder holds the GIL: in threads it "
        "would stall the event loop)",
    )
    face_warm_up: bool | None = Field(
        default=None,
        description="start the face workers and load their models at start-up (~1 s); "
        "default: only in production",
    )

    # Electronic service of documents (service_of_process): channel gateways and escalation.
    service_escalate_after_s: int = Field(
        default=48 * 3600, ge=1, description="a stage not effective this long: next channel"
    )
    service_wechat_template_id: str = "court-service-notice"
    service_sms_template: str = "service_link"
    service_smtp_host: str = "127.0.0.1"
    service_smtp_port: int = 8025
    service_smtp_from: str = "mobile-court@court.example"
    service_smtp_starttls: bool = False
    service_smtp_username: str = ""
    service_smtp_password: SecretStr | None = None
    # Video hearings (hearings/video_*): always an explicit ICE configuration (aiortc's default
    # STUN server is unreachable in China); an empty list means host candidates only.
    video_ice_servers: list[IceServer] = Field(default_factory=list)
    video_allowed_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8080"],
        description="Origin values accepted on the signaling WebSocket",
    )
    video_reconnect_grace_s: float = Field(default=60.0, ge=0, le=600)
    video_segment_s: float = Field(default=10.0, ge=0.5, le=300)
    video_recording_dir: Path | None = None
    video_ws_max_message: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)
    video_ws_messages_per_s: float = Field(default=20.0, gt=0, le=1000)

    log_level: str = "INFO"

    # `mobile-court demo` only: statutory lead times that would stop a one-minute scripted run
    # (the video hearing notice's 3 days) are waived. Production mode refuses it.
    demo_shortcuts: bool = Field(
        default=False,
        description="demo only: a video hearing may be scheduled without the 3-day notice",
    )

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value and not value.startswith(("sqlite://", "postgres://", "postgresql://")):
            raise ValueError("DATABASE_URL must start with sqlite:// or postgres://")
        return value

    @model_validator(mode="after")
    def _no_demo_shortcuts_in_production(self) -> Settings:
        if self.demo_shortcuts and self.mode is Mode.PRODUCTION:
            raise ValueError("MC_DEMO_SHORTCUTS is for the scripted demo; production refuses it")
        return self

    @property
    def secrets_dir(self) -> Path:
        return self.var_dir / "secrets"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite://{(self.var_dir / 'mobile-court.sqlite3').resolve()}"

    @property
    def is_postgres(self) -> bool:
        return self.effective_database_url.startswith(("postgres://", "postgresql://"))

    @property
    def should_auto_migrate(self) -> bool:
        return self.auto_migrate if self.auto_migrate is not None else not self.is_postgres

    @property
    def should_warm_up_faces(self) -> bool:
        return self.face_warm_up if self.face_warm_up is not None else self.mode is Mode.PRODUCTION

    @property
    def effective_blob_dir(self) -> Path:
        return self.blob_dir or self.var_dir / "blobs"

    @property
    def effective_recording_dir(self) -> Path:
        return self.video_recording_dir or self.var_dir / "recordings"
