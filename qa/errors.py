"""Every exception qa raises on purpose; messages say how to fix the problem."""


class QAError(Exception):
    """Base class: anything qa reports to a user as a clear message."""


class EmptyQuestionError(QAError, ValueError):
    """The question is empty or only whitespace."""

    def __init__(self) -> None:
        super().__init__("The question is empty - type a question about the documents.")


class CorpusError(QAError):
    """The documents folder is missing, empty, or holds nothing readable."""


class IndexDamagedError(QAError):
    """The index in the data folder is damaged or from an incompatible version."""


class IndexUnavailableError(QAError):
    """The index cannot be reached now (a Chroma server that is down); nothing was changed."""


class ModelError(QAError):
    """A model (embedder or LLM) could not be loaded."""


class BackendError(QAError):
    """The LLM backend failed (down, timed out, or answered garbage)."""


class ConfigError(QAError, ValueError):
    """A setting has a value qa cannot use."""
