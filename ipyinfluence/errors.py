"""Errors that name the problem and the fix. Widgets show ``str(error)`` as is."""


class InfluenceError(ValueError):
    """Base class: bad input or a model that cannot be explained."""


class UnsupportedModelError(InfluenceError):
    """The architecture cannot be mapped onto the influence graph (docs/method.md §1)."""


class InputError(InfluenceError):
    """The text, sources or options cannot be explained as given."""


class QoIError(InfluenceError):
    """The quantity of interest does not fit the text or the model head."""


class ModelNotAvailableError(InfluenceError):
    """No model could be loaded from the given source."""


class OutOfMemoryError(InfluenceError, MemoryError):
    """Even the smallest chunk did not fit; the message says what to reduce."""


class Cancelled(Exception):
    """The caller's ``should_stop`` asked a computation to end (a Cancel click): not a
    problem of the input, so not an :class:`InfluenceError`."""
