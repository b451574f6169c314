"""The wired domains run against the fake WeChat platform (sign-in, subscribe messages and SMS
over HTTP); electronic service's WeChat courtesy notice uses the template the litigants granted."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiohttp.test_utils import TestServer

from backend.settings import Settings
from miniapp_stub.wechat import FakeWeChatConfig
from tests.async_hearings.helpers import TEMPLATE
from tests.identity.conftest import login, platform, wechat_server

__all__ = ["login", "platform", "wechat_server"]


@pytest.fixture
def wechat_config() -> FakeWeChatConfig:
    return FakeWeChatConfig(templates={TEMPLATE: ("thing1", "thing2", "time3")})


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], wechat_server: TestServer) -> Settings:
    base = str(wechat_server.make_url("")).rstrip("/")
    return settings_factory(
        wechat_base_url=base, sms_base_url=f"{base}/sms", service_wechat_template_id=TEMPLATE
    )
