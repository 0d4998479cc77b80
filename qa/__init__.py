"""qa: question answering over a folder of documents, with every answer cited."""

from .answer import Answer, Claim, Event, Trace
from .cite import Citation, document_text
from .config import Settings
from .engines import answer, answer_stream, ingest
from .errors import QAError
from .ingest import IngestReport
from .pipeline import Engine

__all__ = [
    "Answer",
    "Citation",
    "Claim",
    "Event",
    "Engine",
    "IngestReport",
    "QAError",
    "Settings",
    "Trace",
    "answer",
    "answer_stream",
    "document_text",
    "ingest",
]
__version__ = "0.2.0"
