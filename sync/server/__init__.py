"""The headquarters server (console script: field-hq). Never imports field_app."""

__version__ = "0.1.0"
