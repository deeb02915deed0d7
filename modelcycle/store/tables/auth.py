"""Tables of users, API tokens and the audit log."""

from __future__ import annotations
