"""Fixtures of the e-service delivery tests (see ``delivery_fixtures``), plus the real-photo
face fixtures of the identity tests for signing with a face check."""

from tests.identity.test_face_http import frames, photos  # noqa: F401
from tests.service_of_process.delivery.delivery_fixtures import (  # noqa: F401
    platform,
    settings,
    smtp,
    wechat_server,
)
