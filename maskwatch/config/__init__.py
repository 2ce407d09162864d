"""The one validated configuration model, loaded once and passed down.

A module per section of the file; `Settings` holds them all. Secrets are never written in the
file: `${NAME}` placeholders are filled from the environment.
"""

from maskwatch.config.alerts import AlertsConfig, EmailConfig, WebhookConfig
from maskwatch.config.analyzer import AnalyzerConfig, BoxCalibration, ClassifierConfig, DetectorConfig
from maskwatch.config.base import Section
from maskwatch.config.cameras import CAMERA_SCHEMES, AreaConfig, CameraConfig, MotionConfig
from maskwatch.config.database import DatabaseConfig, SnapshotsConfig
from maskwatch.config.loading import ConfigError, format_validation_error, load_settings, parse_settings
from maskwatch.config.operations import LoggingConfig, MetricsConfig, ReportsConfig
from maskwatch.config.queue import QueueConfig
from maskwatch.config.settings import Settings
from maskwatch.config.tracking import TrackingConfig
from maskwatch.config.web import ApiToken, Role, WebConfig, WebUser
from maskwatch.config.workers import InferenceConfig, IngestConfig

__all__ = [
    "CAMERA_SCHEMES",
    "AlertsConfig",
    "AnalyzerConfig",
    "ApiToken",
    "AreaConfig",
    "BoxCalibration",
    "CameraConfig",
    "ClassifierConfig",
    "ConfigError",
    "DatabaseConfig",
    "DetectorConfig",
    "EmailConfig",
    "InferenceConfig",
    "IngestConfig",
    "LoggingConfig",
    "MetricsConfig",
    "MotionConfig",
    "QueueConfig",
    "ReportsConfig",
    "Role",
    "Section",
    "Settings",
    "SnapshotsConfig",
    "TrackingConfig",
    "WebConfig",
    "WebUser",
    "WebhookConfig",
    "format_validation_error",
    "load_settings",
    "parse_settings",
]
