"""Case numbers: format, parse (both bracket forms), court codes, and gap-free serial allocation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from tortoise.transactions import in_transaction

from backend.db import Database
from backend.settings import Settings
from filing.case_numbers import (
    CaseNumber,
    CaseNumberError,
    CourtCodeShape,
    allocate_case_number,
    allocate_serial,
    court_code_shape,
    format_case_number,
    parse_case_number,
    validate_court_code,
)
from filing.catalogue import CASE_TYPE_CODES
from filing.models import CaseNumberCounter
from tests.conftest import BACKEND

# ---------------------------------------------------------------------------- format/parse


def test_format_uses_ascii_brackets() -> None:
    assert str(CaseNumber(2026, "浙0281", "民初", 1234)) == "(2026)浙0281民初1234号"
    assert format_case_number(2026, "浙０２８１", "民初", 1) == "(2026)浙0281民初1号"


@pytest.mark.parametrize(
    "text",
    [
        "(2026)浙0281民初1234号",
        "（2026）浙0281民初1234号",  # full-width brackets, as often printed
        "（２０２６）浙０２８１民初１２３４号",  # full-width digits too
        " (2026) 浙0281 民初 1234 号 ",  # pasted with spaces
    ],
)
def test_parse_accepts_both_bracket_forms(text: str) -> None:
    number = parse_case_number(text)
    assert number == CaseNumber(2026, "浙0281", "民初", 1234)
    assert str(number) == "(2026)浙0281民初1234号"


@pytest.mark.parametrize(
    ("text", "court", "type_code", "shape"),
    [
        ("(2026)浙民终12号", "浙", "民终", CourtCodeShape.HIGH),
        ("(2026)浙02民终345号", "浙02", "民终", CourtCodeShape.INTERMEDIATE),
        ("(2025)浙0192民初9号", "浙0192", "民初", CourtCodeShape.BASIC),  # Internet court
        ("(2025)京0491民初100号", "京0491", "民初", CourtCodeShape.BASIC),
        ("(2025)粤0192执保7号", "粤0192", "执保", CourtCodeShape.BASIC),
        ("(2026)浙0281执1号", "浙0281", "执", CourtCodeShape.BASIC),
        ("(2026)浙0281执异3号", "浙0281", "执异", CourtCodeShape.BASIC),
        ("(2026)浙01民辖终8号", "浙01", "民辖终", CourtCodeShape.INTERMEDIATE),
        ("(2026)最高法民申1号", "最高法", "民申", CourtCodeShape.SUPREME),
        ("(2026)内01行初2号", "内01", "行初", CourtCodeShape.INTERMEDIATE),
    ],
)
def test_parse_court_levels_and_type_codes(
    text: str, court: str, type_code: str, shape: CourtCodeShape
) -> None:
    number = parse_case_number(text)
    assert (number.court_code, number.type_code) == (court, type_code)
    assert court_code_shape(number.court_code) is shape
    assert str(number) == text


def test_special_trial_prefix() -> None:
    number = parse_case_number("(2026)最高法知民终5号")
    assert (number.special_code, number.type_code, number.serial) == ("知", "民终", 5)
    assert str(number) == "(2026)最高法知民终5号"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("2026浙0281民初1234号", "starts with the year"),
        ("(26)浙0281民初1234号", "four digits"),
        ("(2015)浙0281民初1234号", "outside 2016"),
        ("(2026)浙0281民初1234", "ends with 号"),
        ("(2026)浙0281民初号", "serial"),
        ("(2026)浙0281民初0012号", "leading zero"),
        ("(2026)浙0281民初0号", "leading zero"),
        ("(2026)X0281民初1号", "province abbreviation"),
        ("(2026)浙028民初1号", "2 digits"),
        ("(2026)浙02811民初1号", "4 digits"),
        ("(2026)浙0281民五1号", "unknown case type code"),
        ("(2026)浙02811234号", "missing"),
        ("(2014)余民初字第123号", "pre-2016"),
        ("(2026)浙0281民初1234号" * 4, "at most"),
    ],
)
def test_parse_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(CaseNumberError, match=message) as info:
        parse_case_number(text)
    assert info.value.status == 422 and info.value.code == "invalid_case_number"


def test_constructor_validates() -> None:
    with pytest.raises(CaseNumberError):
        CaseNumber(2026, "浙0281", "民初", 0)
    with pytest.raises(CaseNumberError):
        CaseNumber(2026, "浙０２８１", "民初", 1)  # must be normalised
    with pytest.raises(CaseNumberError):
        CaseNumber(2026, "浙0281", "民初", True)  # type: ignore[arg-type]


def test_court_code_shapes_by_level() -> None:
    assert validate_court_code("浙", "high") == "浙"
    assert validate_court_code("浙02", "intermediate") == "浙02"
    assert validate_court_code("浙0281", "basic") == "浙0281"
    assert validate_court_code("浙0192", "internet") == "浙0192"
    with pytest.raises(CaseNumberError, match="shape of a high court"):
        validate_court_code("浙02", "high")
    with pytest.raises(CaseNumberError, match="shape of a internet court"):
        validate_court_code("浙02", "internet")


def test_type_codes_are_unique_and_short() -> None:
    codes = [t.code for t in CASE_TYPE_CODES]
    assert len(codes) == len(set(codes))
    assert all(1 <= len(c) <= 3 for c in codes)
    required = {"民初", "民终", "民申", "民特", "民督", "执", "刑初", "行初", "民辖", "执保"}
    assert required <= set(codes)
    assert all(t.name_zh and t.name_en for t in CASE_TYPE_CODES)


# ------------------------------------------------------------------------------ allocation


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = await Database.open(settings)
    try:
        with database.activate():
            yield database
    finally:
        await database.close()


class Rollback(Exception):
    pass


async def test_serials_start_at_one_per_court_type_and_year(db: Database) -> None:
    async with in_transaction() as conn:
        assert await allocate_serial(conn, "浙0281", "民初", 2026) == 1
        assert await allocate_serial(conn, "浙0281", "民初", 2026) == 2
        assert await allocate_serial(conn, "浙0281", "民终", 2026) == 1
        assert await allocate_serial(conn, "浙0281", "民初", 2027) == 1
        assert await allocate_serial(conn, "浙02", "民初", 2026) == 1
        number = await allocate_case_number(conn, "浙０２８１", "民初", 2026)
    assert str(number) == "(2026)浙0281民初3号"
    assert await CaseNumberCounter.filter(court_code="浙0281", type_code="民初").count() == 2


async def test_a_rolled_back_allocation_leaves_no_gap(db: Database) -> None:
    with pytest.raises(Rollback):
        async with in_transaction() as conn:
            assert await allocate_serial(conn, "浙0281", "民初", 2026) == 1
            raise Rollback
    async with in_transaction() as conn:
        assert await allocate_serial(conn, "浙0281", "民初", 2026) == 1


async def test_allocation_needs_a_transaction_and_valid_codes(db: Database) -> None:
    with pytest.raises(TypeError, match="transaction"):
        await allocate_serial(db.connection(), "浙0281", "民初", 2026)
    async with in_transaction() as conn:
        with pytest.raises(CaseNumberError):
            await allocate_serial(conn, "浙028", "民初", 2026)
        with pytest.raises(CaseNumberError):
            await allocate_serial(conn, "浙0281", "民五", 2026)
        with pytest.raises(CaseNumberError):
            await allocate_serial(conn, "浙0281", "民初", 1999)
    assert await CaseNumberCounter.all().count() == 0


async def test_fifty_concurrent_allocations_have_no_gaps_or_duplicates(db: Database) -> None:
    """The issue's done-criterion (run with MC_TEST_DATABASE=postgres for real row locks): 50
    registrations at once, every fifth rolling back after taking its serial."""

    async def register(i: int) -> int | None:
        try:
            async with in_transaction() as conn:
                serial = await allocate_serial(conn, "浙0281", "民初", 2026)
                await asyncio.sleep(0.005)  # the rest of the registration, holding the lock
                if i % 5 == 0:
                    raise Rollback
                return serial
        except Rollback:
            return None

    results = await asyncio.gather(*(register(i) for i in range(50)))
    committed = sorted(s for s in results if s is not None)
    assert committed == list(range(1, 41))  # 40 commits: 1…40, no gap, no duplicate
    counter = await CaseNumberCounter.get(court_code="浙0281", type_code="民初", year=2026)
    assert counter.last_serial == 40


@pytest.mark.postgres_only
@pytest.mark.skipif(BACKEND != "postgres", reason="row locks need PostgreSQL")
async def test_allocation_holds_the_row_lock_until_commit(db: Database, settings: Settings) -> None:
    async with in_transaction() as conn:
        await allocate_serial(conn, "浙0281", "民初", 2026)
    other = await asyncpg.connect(settings.effective_database_url)
    try:
        async with in_transaction() as conn:
            assert await allocate_serial(conn, "浙0281", "民初", 2026) == 2
            with pytest.raises(asyncpg.LockNotAvailableError):
                await other.execute(
                    "SELECT last_serial FROM filing_case_counter WHERE court_code = $1 "
                    "FOR UPDATE NOWAIT",
                    "浙0281",
                )
        row = await other.fetchrow(
            "SELECT last_serial FROM filing_case_counter WHERE court_code = $1 FOR UPDATE NOWAIT",
            "浙0281",
        )
        assert row is not None and row["last_serial"] == 2
    finally:
        await other.close()
