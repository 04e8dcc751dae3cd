"""The lab server (`parlab serve`): the course page's HTTP API, live stream and demo page."""

from parlab.server.app import create_app
from parlab.server.params import LIMITS

__all__ = ["LIMITS", "create_app"]
