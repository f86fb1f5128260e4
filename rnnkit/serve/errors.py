"""Errors a request can meet, each with its HTTP status; none of them stops the server."""

from __future__ import annotations


class RequestError(Exception):
    """A request the server refuses or cannot finish: ``status``, a message, and the request
    field at fault (when one is)."""

    status = 400

    def __init__(
        self, message: str, field: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message, self.field, self.headers = message, field, headers or {}

    def body(self) -> dict[str, object]:
        out: dict[str, object] = {"error": self.message, "status": self.status}
        if self.field is not None:
            out["field"] = self.field
        return out


class BadRequest(RequestError):
    status = 400


class NotFound(RequestError):
    status = 404


class BodyTooLarge(RequestError):
    status = 413


class QueueFull(RequestError):
    """Too many requests wait for this model; the client should retry after a second."""

    status = 503

    def __init__(self, model: str, limit: int, retry_after: int) -> None:
        super().__init__(
            f"model {model!r}: {limit} requests already wait (--max-queue); retry later",
            headers={"Retry-After": str(retry_after)},
        )


class TimeLimit(RequestError):
    status = 504

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the request took longer than the time limit ({seconds:g} s, --timeout)")
