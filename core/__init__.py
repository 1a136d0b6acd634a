"""What every app needs and no app owns (DESIGN.md, the bottom layer).

The enqueue seam (``core.enqueue``), the retry policy and the error types of the outside
services (``core.retry``, ``core.errors``; both Django-free), the deadlock retry
(``core.transactions``), rate limits (``core.ratelimit``) and request types (``core.http``).
No domain model lives here, and nothing here imports an app of the project
(``pyproject.toml``'s import-linter contracts).
"""
