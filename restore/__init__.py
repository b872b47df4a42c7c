"""restore: find and restore text that keyword filters silently deleted from Chinese pages."""

from restore.document import Candidate, Evidence, Gap, Insertion, Restoration
from restore.engine.restorer import DEFAULT_MIN_CONFIDENCE, Restorer

__all__ = ["Candidate", "Evidence", "Gap", "Insertion", "Restoration", "Restorer", "DEFAULT_MIN_CONFIDENCE"]
__version__ = "0.1.0"
