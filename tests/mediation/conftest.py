"""Asynchronous hearing tests run against the fake WeChat platform (notices go over HTTP)."""

from __future__ import annotations

import pytest

from miniapp_stub.wechat import FakeWeChatConfig
from tests.async_hearings.helpers import TEMPLATE
from tests.identity.conftest import login, platform, settings, wechat_server

__all__ = ["login", "platform", "settings", "wechat_server"]


@pytest.fixture
def wechat_config() -> FakeWeChatConfig:
    return FakeWeChatConfig(templates={TEMPLATE: ("thing1", "thing2", "time3")})
