"""maskwatch: face-mask compliance monitoring for existing CCTV cameras."""

__version__ = "0.1.0"
