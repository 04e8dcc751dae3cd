"""Fixtures shared by the test files: the lab server on a free loopback port."""

import httpx
import pytest

from parlab.server import create_app
from parlab.web import BackgroundServer


@pytest.fixture(scope="module")
def lab_server():
    """The lab server with its defaults, serving in a background thread for one test module."""
    with BackgroundServer(create_app()) as running:
        yield running


@pytest.fixture
def lab_client(lab_server):
    with httpx.Client(base_url=lab_server.url, timeout=60) as http:
        yield http
