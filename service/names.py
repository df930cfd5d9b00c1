"""The names users give datasets, monitors and hooks: they appear in URLs and metric labels."""

from __future__ import annotations

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$"
