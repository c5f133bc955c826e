"""The error the route handlers raise; the app turns it into the error envelope."""


class ApiError(Exception):
    """An HTTP error answered with `{"error": ..., "details": ...}`."""

    def __init__(self, status_code: int, error: str, details: str | None = None):
        super().__init__(error)
        self.status_code = status_code
        self.error = error
        self.details = details

    def body(self) -> dict[str, str | None]:
        """Return the JSON body of the error envelope."""
        return {"error": self.error, "details": self.details}


def bad_request(error: str, details: str | None = None) -> ApiError:
    """Build a 400 for a missing or invalid parameter."""
    return ApiError(400, error, details)


def not_found(what: str, ident: str | None = None) -> ApiError:
    """Build a 404 for an unknown object, e.g. `not_found("Workspace")`."""
    details = None if ident is None else f"No {what.lower()} with id {ident!r}"
    return ApiError(404, f"{what} not found", details)


def conflict(error: str, details: str | None = None) -> ApiError:
    """Build a 409 for an operation the workspace's state forbids."""
    return ApiError(409, error, details)
