"""Near-duplicate and syndicated-copy detection for news articles."""

from .app import create_app
from .config import Settings
from .service import Deduplicator

__version__ = "0.1.0"
__all__ = ["Deduplicator", "Settings", "__version__", "create_app"]
