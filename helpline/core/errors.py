"""The errors core services raise. The API layer turns each into a GraphQL error or a userError.

Services never return half-done work: they raise one of these before writing, or inside the
transaction so that it rolls back.
"""

from __future__ import annotations

import dataclasses


class HelplineError(Exception):
    """Base class; ``code`` becomes ``extensions.code`` in GraphQL errors."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(HelplineError):
    """No valid API token came with the request."""

    code = "UNAUTHENTICATED"


class Forbidden(HelplineError):
    """The viewer is known but their role may not do this."""

    code = "FORBIDDEN"


class NotFound(HelplineError):
    """The object does not exist, or the viewer may not see it (the two are indistinguishable)."""

    code = "NOT_FOUND"


class Conflict(HelplineError):
    """The object changed since the caller read it; nothing was written."""

    code = "CONFLICT"


class BadInput(HelplineError):
    """Input that is malformed rather than merely invalid (a bad id, a bad cursor, a page too big)."""

    code = "BAD_USER_INPUT"


@dataclasses.dataclass(frozen=True)
class UserError:
    """An expected problem with one input field, returned in a mutation payload's ``userErrors``.

    ``field`` is the path of the input field (``["input", "subject"]``), ``code`` a stable
    machine-readable word (``REQUIRED``, ``TOO_LONG``, ``INVALID_TRANSITION``...).
    """

    field: tuple[str, ...]
    message: str
    code: str


class ValidationFailed(HelplineError):
    """One or more :class:`UserError`; the mutation changes nothing and returns them."""

    code = "BAD_USER_INPUT"

    def __init__(self, errors: list[UserError]) -> None:
        super().__init__("; ".join(error.message for error in errors))
        self.errors = errors

    @classmethod
    def single(cls, field: str | None, message: str, code: str) -> ValidationFailed:
        """Build the common one-error case; ``field`` is an input field name or ``None``."""
        path = ("input", field) if field else ("input",)
        return cls([UserError(path, message, code)])


class Veto(HelplineError):
    """Raised by a plugin's event hook to refuse a change, with a reason the caller may read.

    The change rolls back and the client gets PLUGIN_ERROR naming the plugin, with this message.
    (Raise :class:`ValidationFailed` instead to report problems with input fields as userErrors.)
    """

    code = "PLUGIN_ERROR"


class PluginError(HelplineError):
    """A plugin's hook raised; the change it was part of rolled back.

    A :class:`Veto`'s reason is shown to the caller; any other exception is a failure whose
    details go to the server log only (its text may name tables, paths or data).
    """

    code = "PLUGIN_ERROR"

    def __init__(self, plugin: str, hook: str, error: BaseException) -> None:
        if isinstance(error, Veto):
            message = f"plugin {plugin!r} refused the change: {error.message}"
        else:
            message = f"plugin {plugin!r} failed in {hook}"
        super().__init__(message)
        self.plugin = plugin
        self.hook = hook
        self.error = error


class PluginLoadError(HelplineError):
    """A plugin could not be imported, registered or composed; start-up stops."""

    code = "PLUGIN_LOAD_ERROR"
