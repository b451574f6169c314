"""The whole fake WeChat platform on one port: mini-program login, phone, subscribe messages, the
SMS gateway and WeChat Pay (``mobile-court fake-wechat``; the scripted demo starts the same app).

WeChat Pay's demo merchant and platform keys live in ``--pay-keys-dir`` (created when missing);
:func:`backend_pay_settings` names the files and values the backend needs to talk to it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from aiohttp import web

from miniapp_stub.pay import (
    add_pay_routes,
    configure_pay_parser,
    pay_config_from_args,
)
from miniapp_stub.pay_keys import (
    MERCHANT_KEY_FILE,
    PLATFORM_PUBLIC_KEY_FILE,
    DemoPayKeys,
)
from miniapp_stub.pay_model import FakePayConfig
from miniapp_stub.wechat import (
    FakeWeChatConfig,
    config_from_args,
    configure_parser,
    create_fake_wechat_app,
)


def configure_platform_parser(
    parser: argparse.ArgumentParser, *, pay_keys_dir: Path | None = None
) -> argparse.ArgumentParser:
    configure_parser(parser)
    configure_pay_parser(parser)
    if pay_keys_dir is not None:
        parser.set_defaults(pay_keys_dir=pay_keys_dir)
    return parser


def create_platform_app(wechat: FakeWeChatConfig, pay: FakePayConfig) -> web.Application:
    # The paths of the two fakes do not overlap, so one app (one port) serves both, as
    # MC_WECHAT_BASE_URL and MC_WECHAT_PAY_BASE_URL default to the same address.
    return add_pay_routes(create_fake_wechat_app(wechat), pay)


def backend_pay_settings(keys: DemoPayKeys) -> dict[str, Any]:
    """Settings fields (``MC_WECHAT_PAY_*``) that point the backend at the fake WeChat Pay."""
    return {
        "wechat_pay_mchid": keys.merchant.mchid,
        "wechat_pay_merchant_serial": keys.merchant.serial_no,
        "wechat_pay_merchant_key_file": keys.directory / MERCHANT_KEY_FILE,
        "wechat_pay_apiv3_key": keys.merchant.apiv3_key,
        "wechat_pay_platform_serial": keys.platform.serial,
        "wechat_pay_platform_public_key_file": keys.directory / PLATFORM_PUBLIC_KEY_FILE,
    }


def run_platform_from_args(args: argparse.Namespace) -> int:
    wechat = config_from_args(args)
    pay = pay_config_from_args(args, appids=tuple(a.appid for a in wechat.apps))
    host, port = args.host, args.port
    web.run_app(
        create_platform_app(wechat, pay),
        host=host,
        port=port,
        print=lambda _: print(
            f"fake WeChat platform (login, messages, SMS, WeChat Pay) on http://{host}:{port}/ ; "
            f"demo pay keys in {args.pay_keys_dir}",
            flush=True,
        ),
    )
    return 0
