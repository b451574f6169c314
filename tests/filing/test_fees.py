"""Fee calculator against Decree 481 (诉讼费用交纳办法).

Every expected value is a literal worked out by hand from the statute, with the arithmetic in the
comment; none is produced by the code under test.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from filing.fees import (
    DEFAULT_FEE_SCHEDULE,
    CourtFeeSchedule,
    FeeInputError,
    fee_payment_deadline,
    parse_amount,
    property_fee,
    quote_fee,
)

D = Decimal


def total(case_type: str, amount: object = None, **kw: object) -> Decimal:
    return quote_fee(case_type, amount, **kw).total  # type: ignore[arg-type]


# --------------------------------------------------------------------- Art. 13(1) property
#
# Cumulative fee at each band bound (yuan):
#   F(10,000)     = 50                                   (flat)
#   F(100,000)    = 50      + 90,000 × 2.5 %    = 50 + 2,250        = 2,300
#   F(200,000)    = 2,300   + 100,000 × 2 %     = 2,300 + 2,000     = 4,300
#   F(500,000)    = 4,300   + 300,000 × 1.5 %   = 4,300 + 4,500     = 8,800
#   F(1,000,000)  = 8,800   + 500,000 × 1 %     = 8,800 + 5,000     = 13,800
#   F(2,000,000)  = 13,800  + 1,000,000 × 0.9 % = 13,800 + 9,000    = 22,800
#   F(5,000,000)  = 22,800  + 3,000,000 × 0.8 % = 22,800 + 24,000   = 46,800
#   F(10,000,000) = 46,800  + 5,000,000 × 0.7 % = 46,800 + 35,000   = 81,800
#   F(20,000,000) = 81,800  + 10,000,000 × 0.6 %= 81,800 + 60,000   = 141,800
# One fen either side of a bound moves the fee by 0.01 × rate (≤ 0.00025), which rounds away.

PROPERTY_CASES = [
    ("0.01", "50.00"),  # flat band: 50 per case
    ("1", "50.00"),
    ("9999.99", "50.00"),  # flat
    ("10000", "50.00"),  # F(10,000) = 50
    ("10000.01", "50.00"),  # 50 + 0.01 × 2.5 % = 50.00025 → 50.00
    ("10000.20", "50.01"),  # 50 + 0.20 × 2.5 % = 50.005 → 50.01 (half-up, not half-even)
    ("50000", "1050.00"),  # worked value: 50 + 40,000 × 2.5 % = 50 + 1,000
    ("99999.99", "2300.00"),  # 2,300 − 0.01 × 2.5 % = 2,299.99975 → 2,300.00
    ("99999", "2299.98"),  # 2,300 − 1 × 2.5 % = 2,299.975 → 2,299.98
    ("100000", "2300.00"),  # worked value F(100,000)
    ("100000.01", "2300.00"),  # 2,300 + 0.01 × 2 % = 2,300.0002
    ("100001", "2300.02"),  # 2,300 + 1 × 2 %
    ("199999.99", "4300.00"),  # 4,300 − 0.0002
    ("200000", "4300.00"),  # worked value F(200,000)
    ("200000.01", "4300.00"),  # 4,300 + 0.01 × 1.5 % = 4,300.00015
    ("350000", "6550.00"),  # 4,300 + 150,000 × 1.5 % = 4,300 + 2,250
    ("499999.99", "8800.00"),  # 8,800 − 0.00015
    ("500000", "8800.00"),  # worked value F(500,000)
    ("500000.01", "8800.00"),  # 8,800 + 0.0001
    ("999999.99", "13800.00"),  # 13,800 − 0.0001
    ("1000000", "13800.00"),  # F(1,000,000)
    ("1000000.01", "13800.00"),  # 13,800 + 0.01 × 0.9 % = 13,800.00009
    ("1234567.89", "15911.11"),  # 13,800 + 234,567.89 × 0.9 % = 13,800 + 2,111.11101
    ("1999999.99", "22800.00"),  # 22,800 − 0.00009
    ("2000000", "22800.00"),  # F(2,000,000)
    ("2000000.01", "22800.00"),  # 22,800 + 0.01 × 0.8 %
    ("4999999.99", "46800.00"),  # 46,800 − 0.00008
    ("5000000", "46800.00"),  # F(5,000,000)
    ("5000000.01", "46800.00"),  # 46,800 + 0.01 × 0.7 %
    ("9999999.99", "81800.00"),  # 81,800 − 0.00007
    ("10000000", "81800.00"),  # F(10,000,000)
    ("10000000.01", "81800.00"),  # 81,800 + 0.01 × 0.6 %
    ("19999999.99", "141800.00"),  # 141,800 − 0.00006
    ("20000000", "141800.00"),  # F(20,000,000)
    ("20000000.01", "141800.00"),  # 141,800 + 0.01 × 0.5 %
    ("100000000", "541800.00"),  # 141,800 + 80,000,000 × 0.5 % = 141,800 + 400,000
    # 10^13, the largest accepted: 141,800 + (10^13 − 2×10^7) × 0.5 %
    #   = 141,800 + 9,999,980,000,000 × 0.005 = 141,800 + 49,999,900,000
    ("10000000000000", "50000041800.00"),
]


@pytest.mark.parametrize(("amount", "expected"), PROPERTY_CASES)
def test_property_scale(amount: str, expected: str) -> None:
    quote = quote_fee("property", amount)
    assert quote.total == D(expected)
    assert quote.total.as_tuple().exponent == -2  # always to the fen
    assert quote.currency == "CNY"
    assert sum(line.fee for line in quote.lines) == quote.subtotal == quote.total
    assert property_fee(amount) == D(expected)


def test_property_breakdown_lists_each_band() -> None:
    quote = quote_fee("property", "350000")
    rows = [(ln.lower, ln.upper, ln.rate, ln.amount_in_band, ln.fee) for ln in quote.lines]
    assert rows == [
        (D(0), D(10000), None, D(10000), D("50.00")),  # flat 50
        (D(10000), D(100000), D("0.025"), D(90000), D("2250.00")),  # 90,000 × 2.5 %
        (D(100000), D(200000), D("0.02"), D(100000), D("2000.00")),  # 100,000 × 2 %
        (D(200000), D(500000), D("0.015"), D(150000), D("2250.00")),  # 150,000 × 1.5 %
    ]
    assert quote.lines[1].label_zh == "超过10,000元至100,000元的部分，按照2.5%交纳"
    assert quote.lines[1].label_en == "10,000–100,000 at 2.5 %"
    assert all("Art. 13(1)" in ln.basis and "第十三条" in ln.basis for ln in quote.lines)
    assert quote.total_fen == 655000
    assert not quote.halving.applied
    assert quote.prepayment_required


def test_top_band_is_open_ended() -> None:
    quote = quote_fee("property", "25000000")
    top = quote.lines[-1]
    assert (top.lower, top.upper, top.rate) == (D(20000000), None, D("0.005"))
    assert top.amount_in_band == D(5000000)
    assert top.fee == D("25000.00")  # 5,000,000 × 0.5 %
    assert quote.total == D("166800.00")  # 141,800 + 25,000
    assert len(quote.lines) == 10  # flat band + nine rate bands


# ------------------------------------------------------------------------------ halving


def test_simple_procedure_halves() -> None:
    assert total("property", "100000", procedure="simple") == D("1150.00")  # 2,300 / 2
    assert total("property", "100000", procedure="small_claims") == D("1150.00")


def test_mediation_or_withdrawal_halves() -> None:
    assert total("property", "50000", mediated_or_withdrawn=True) == D("525.00")  # 1,050 / 2


def test_counterclaim_halves() -> None:
    assert total("property", "200000", counterclaim_joined=True) == D("2150.00")  # 4,300 / 2


def test_halvings_do_not_stack_by_default() -> None:
    quote = quote_fee("property", "100000", procedure="simple", mediated_or_withdrawn=True)
    assert quote.total == D("1150.00")  # 2,300 halved once
    assert quote.halving.times == 1 and not quote.halving.stacking
    assert [g.code for g in quote.halving.grounds] == [
        "simple_procedure",
        "mediation_or_withdrawal",
    ]
    assert "do not stack" in quote.halving.explanation_en
    assert "只减半一次" in quote.halving.explanation_zh
    assert [a.code for a in quote.adjustments] == ["halving"]
    assert any("Art. 16" in b for b in quote.legal_basis)
    assert any("Art. 15" in b for b in quote.legal_basis)


def test_stacking_policy_halves_per_ground() -> None:
    two = quote_fee(
        "property", "100000", procedure="simple", mediated_or_withdrawn=True, stack_halvings=True
    )
    assert two.total == D("575.00")  # 2,300 / 2 / 2
    three = quote_fee(
        "property",
        "100000",
        procedure="simple",
        mediated_or_withdrawn=True,
        counterclaim_joined=True,
        stack_halvings=True,
    )
    assert three.total == D("287.50")  # 2,300 / 2 / 2 / 2
    assert [(a.before, a.after) for a in three.adjustments] == [
        (D("2300.00"), D("1150.00")),
        (D("1150.00"), D("575.00")),
        (D("575.00"), D("287.50")),
    ]
    # The court's schedule carries the same policy.
    schedule = DEFAULT_FEE_SCHEDULE.model_copy(update={"stack_halvings": True})
    assert total(
        "property", "100000", procedure="simple", mediated_or_withdrawn=True, schedule=schedule
    ) == D("575.00")


def test_halving_rounds_half_up() -> None:
    # 50 + 40,000.20 × 2.5 % = 50 + 1,000.005 = 1,050.005 → 1,050.01; halved 525.005 → 525.01
    assert total("property", "50000.20") == D("1050.01")
    assert total("property", "50000.20", procedure="simple") == D("525.01")


def test_halving_applies_to_non_property_fees() -> None:
    assert total("labour", procedure="simple") == D("5.00")  # 10 / 2
    assert total("divorce", mediated_or_withdrawn=True) == D("25.00")  # 50 / 2


@pytest.mark.parametrize("case_type", ["preservation", "enforcement", "payment_order"])
def test_application_fees_are_never_halved(case_type: str) -> None:
    with pytest.raises(FeeInputError, match="acceptance fees"):
        quote_fee(case_type, "10000", procedure="simple")
    with pytest.raises(FeeInputError):
        quote_fee(case_type, "10000", mediated_or_withdrawn=True)


def test_appeal_uses_the_amount_appealed() -> None:
    quote = quote_fee("property", "200000", appeal=True)
    assert quote.total == D("4300.00")  # F(200,000): same scale on the amount appealed
    assert any("Art. 17" in b for b in quote.legal_basis)
    with pytest.raises(FeeInputError, match="appeal"):
        quote_fee("property", "200000", appeal=True, procedure="simple")


# --------------------------------------------------------------- Art. 13(2)–(6) per case


def schedule(**amounts: str) -> CourtFeeSchedule:
    values = DEFAULT_FEE_SCHEDULE.model_dump()
    values.update({k: D(v) for k, v in amounts.items()})
    return CourtFeeSchedule(**values)


def test_default_schedule_is_the_statutory_minimum() -> None:
    assert total("divorce") == D("50.00")  # Art. 13(2)1: 50–300
    assert total("personality_rights") == D("100.00")  # Art. 13(2)2: 100–500
    assert total("other_non_property") == D("50.00")  # Art. 13(2)3: 50–100
    assert total("intellectual_property") == D("500.00")  # Art. 13(3): 500–1,000
    assert total("jurisdiction_objection") == D("50.00")  # Art. 13(6): 50–100
    assert total("enforcement") == D("50.00")  # Art. 14(1): 50–500


def test_court_configured_amounts() -> None:
    court = schedule(
        divorce="300",
        personality_rights="500",
        other_non_property="100",
        ip_without_amount="1000",
        jurisdiction_objection="80",
        enforcement_without_amount="500",
    )
    assert total("divorce", schedule=court) == D("300.00")
    assert total("personality_rights", schedule=court) == D("500.00")
    assert total("other_non_property", schedule=court) == D("100.00")
    assert total("intellectual_property", schedule=court) == D("1000.00")
    assert total("jurisdiction_objection", schedule=court) == D("80.00")
    assert total("enforcement", schedule=court) == D("500.00")


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("200000", "50.00"),  # up to 200,000 of property: nothing extra → 50
        ("200000.01", "50.00"),  # 50 + 0.01 × 0.5 % = 50.00005
        ("300000", "550.00"),  # 50 + 100,000 × 0.5 % = 50 + 500
        ("1000000", "4050.00"),  # 50 + 800,000 × 0.5 % = 50 + 4,000
    ],
)
def test_divorce_with_property_division(amount: str, expected: str) -> None:
    assert total("divorce", amount) == D(expected)


def test_divorce_division_breakdown_with_court_amount() -> None:
    quote = quote_fee("divorce", "300000", schedule=schedule(divorce="300"))
    assert [ln.fee for ln in quote.lines] == [D("300.00"), D("0.00"), D("500.00")]
    assert quote.total == D("800.00")  # 300 + 100,000 × 0.5 %


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("50000", "100.00"),  # damages up to 50,000: nothing extra → 100
        ("50000.01", "100.00"),  # 100 + 0.01 × 1 % = 100.0001
        ("80000", "400.00"),  # 100 + 30,000 × 1 % = 100 + 300
        ("100000", "600.00"),  # 100 + 50,000 × 1 % = 100 + 500
        ("100000.01", "600.00"),  # 600 + 0.01 × 0.5 %
        ("150000", "850.00"),  # 100 + 500 + 50,000 × 0.5 % = 100 + 500 + 250
    ],
)
def test_personality_rights_with_damages(amount: str, expected: str) -> None:
    assert total("personality_rights", amount) == D(expected)


def test_intellectual_property_with_amount_uses_property_scale() -> None:
    quote = quote_fee("intellectual_property", "100000")
    assert quote.total == D("2300.00")  # F(100,000) of Art. 13(1)
    assert any("Art. 13(3)" in b for b in quote.legal_basis)
    assert any("Art. 13(1)" in b for b in quote.legal_basis)


def test_fixed_statutory_amounts() -> None:
    assert total("labour") == D("10.00")  # Art. 13(4): 10 per case
    assert total("administrative_ip_maritime") == D("100.00")  # Art. 13(5)1
    assert total("administrative") == D("50.00")  # Art. 13(5)2


@pytest.mark.parametrize(
    "case_type", ["other_non_property", "labour", "administrative", "jurisdiction_objection"]
)
def test_per_case_types_refuse_an_amount(case_type: str) -> None:
    with pytest.raises(FeeInputError, match="per case"):
        quote_fee(case_type, "1000")


def test_jurisdiction_objection_note() -> None:
    quote = quote_fee("jurisdiction_objection")
    assert "dismissed" in " ".join(quote.notes_en)
    assert any("Art. 13(6)" in b for b in quote.legal_basis)


# ---------------------------------------------------------------------- Art. 14 applications


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (None, "30.00"),  # no amount involved: 30
        ("500", "30.00"),  # up to 1,000: 30
        ("1000", "30.00"),
        ("1000.01", "30.00"),  # 30 + 0.01 × 1 % = 30.0001
        ("50000", "520.00"),  # 30 + 49,000 × 1 % = 30 + 490
        ("99999.99", "1020.00"),  # 1,020 − 0.0001
        ("100000", "1020.00"),  # 30 + 99,000 × 1 % = 30 + 990
        ("100000.01", "1020.00"),  # 1,020 + 0.01 × 0.5 %
        ("200000", "1520.00"),  # 1,020 + 100,000 × 0.5 % = 1,020 + 500
        ("896000", "5000.00"),  # 1,020 + 796,000 × 0.5 % = 1,020 + 3,980: exactly the cap
        ("896000.01", "5000.00"),  # 5,000.00005 → 5,000.00, not above the cap
        ("900000", "5000.00"),  # 1,020 + 800,000 × 0.5 % = 5,020 → capped at 5,000
        ("10000000", "5000.00"),  # 1,020 + 9,900,000 × 0.5 % = 50,520 → capped
    ],
)
def test_preservation(amount: str | None, expected: str) -> None:
    assert total("preservation", amount) == D(expected)


def test_preservation_cap_is_an_adjustment() -> None:
    quote = quote_fee("preservation", "900000")
    assert quote.subtotal == D("5020.00")
    [cap] = quote.adjustments
    assert (cap.code, cap.before, cap.after) == ("preservation_cap", D("5020.00"), D("5000.00"))
    assert quote_fee("preservation", "896000").adjustments == ()


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("1", "50.00"),  # up to 10,000: 50
        ("10000", "50.00"),
        ("10000.01", "50.00"),  # 50 + 0.01 × 1.5 % = 50.00015
        ("100000", "1400.00"),  # 50 + 90,000 × 1.5 % = 50 + 1,350
        ("499999.99", "7400.00"),  # 7,400 − 0.00015
        ("500000", "7400.00"),  # 50 + 490,000 × 1.5 % = 50 + 7,350
        ("500000.01", "7400.00"),  # 7,400 + 0.01 × 1 %
        ("4999999.99", "52400.00"),  # 52,400 − 0.0001
        ("5000000", "52400.00"),  # 7,400 + 4,500,000 × 1 % = 7,400 + 45,000
        ("5000000.01", "52400.00"),  # 52,400 + 0.01 × 0.5 %
        ("9999999.99", "77400.00"),  # 77,400 − 0.00005
        ("10000000", "77400.00"),  # 52,400 + 5,000,000 × 0.5 % = 52,400 + 25,000
        ("10000000.01", "77400.00"),  # 77,400 + 0.01 × 0.1 %
        ("20000000", "87400.00"),  # 77,400 + 10,000,000 × 0.1 % = 77,400 + 10,000
    ],
)
def test_enforcement_bands(amount: str, expected: str) -> None:
    assert total("enforcement", amount) == D(expected)


def test_enforcement_is_not_prepaid() -> None:
    quote = quote_fee("enforcement", "100000")
    assert not quote.prepayment_required
    assert any("Art. 20" in b for b in quote.legal_basis)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("10000", "16.67"),  # 50 / 3 = 16.666… → 16.67
        ("30000", "183.33"),  # (50 + 20,000 × 2.5 % = 550) / 3 = 183.333…
        ("100000", "766.67"),  # 2,300 / 3 = 766.666…
        ("500000", "2933.33"),  # 8,800 / 3 = 2,933.333…
        ("1000000", "4600.00"),  # 13,800 / 3
    ],
)
def test_payment_order_is_a_third_of_the_property_scale(amount: str, expected: str) -> None:
    quote = quote_fee("payment_order", amount)
    assert quote.total == D(expected)
    assert [a.code for a in quote.adjustments] == ["payment_order_third"]
    assert any("Art. 14(3)" in b for b in quote.legal_basis)


def test_payment_order_needs_an_amount() -> None:
    with pytest.raises(FeeInputError, match="required"):
        quote_fee("payment_order")


# ------------------------------------------------------------------- Art. 20 and Art. 22


def test_labour_remuneration_needs_no_prepayment() -> None:
    quote = quote_fee("labour", labour_remuneration=True)
    assert quote.total == D("10.00")
    assert not quote.prepayment_required
    assert any("Art. 20" in b for b in quote.legal_basis)
    assert not quote_fee("property", "30000", labour_remuneration=True).prepayment_required
    with pytest.raises(FeeInputError):
        quote_fee("divorce", labour_remuneration=True)


def test_ordinary_quote_requires_prepayment_within_seven_days() -> None:
    quote = quote_fee("property", "100000")
    assert quote.prepayment_required
    assert any("Art. 22" in b for b in quote.legal_basis)
    assert any("7 days" in n for n in quote.notes_en)


def test_payment_deadline_counts_from_the_next_day() -> None:
    # Received on 1 March: days 2–8 March are the 7 days; the receipt day is not counted.
    assert fee_payment_deadline(date(2026, 3, 1)) == date(2026, 3, 8)
    assert fee_payment_deadline(date(2026, 12, 28)) == date(2027, 1, 4)  # across the year end
    assert fee_payment_deadline(date(2028, 2, 25)) == date(2028, 3, 3)  # leap year: 29 Feb


def test_payment_deadline_rolls_forward_through_a_calendar() -> None:
    def next_weekday(day: date) -> date:
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return day

    # 2026-03-08 is a Sunday → Monday 9 March
    assert fee_payment_deadline(date(2026, 3, 1), roll_forward=next_weekday) == date(2026, 3, 9)
    with pytest.raises(TypeError):
        fee_payment_deadline(datetime(2026, 3, 1, 9, 0))


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "negative"),
        ("-0.01", "negative"),
        ("0", "greater than zero"),
        ("0.00", "greater than zero"),
        ("10000000000000.01", "exceed"),  # 10^13 + 0.01
        ("99999999999999", "exceed"),
        ("1" + "0" * 60, "absurdly long"),
        ("abc", "plain decimal"),
        ("1e5", "plain decimal"),
        ("1,000", "plain decimal"),
        ("¥100", "plain decimal"),
        ("+5", "plain decimal"),
        ("12.345", "2 decimal places"),
        ("NaN", "plain decimal"),
        (1.5, "float"),
        (True, "float or boolean"),
        (D("NaN"), "finite"),
        (D("Infinity"), "finite"),
        (D("1.001"), "2 decimal places"),
        (D("-3"), "negative"),
        (D("1E+20"), "exceed"),
        ([100], "decimal string"),
    ],
)
def test_bad_amounts(value: object, message: str) -> None:
    with pytest.raises(FeeInputError, match=message) as info:
        quote_fee("property", value)
    assert info.value.status == 422
    assert info.value.code == "invalid_fee_request"


def test_good_amount_forms() -> None:
    assert parse_amount(" 350000 ") == D("350000")
    assert parse_amount(350000) == D(350000)
    assert parse_amount(D("1234.50")) == D("1234.50")
    assert parse_amount("10000000000000") == D(10) ** 13  # the limit itself is accepted


def test_missing_amount_for_property() -> None:
    with pytest.raises(FeeInputError, match="required"):
        quote_fee("property")
    with pytest.raises(FeeInputError, match="required"):
        quote_fee("property", "")


def test_unknown_case_type_and_procedure_list_the_allowed_values() -> None:
    with pytest.raises(FeeInputError, match="property, divorce") as info:
        quote_fee("tort", "100")
    assert "payment_order" in info.value.detail
    with pytest.raises(FeeInputError, match="ordinary, simple, small_claims"):
        quote_fee("property", "100", procedure="summary")


# ------------------------------------------------------------------------ fee schedules


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("divorce", "49.99"),  # below 50
        ("divorce", "300.01"),  # above 300
        ("personality_rights", "99"),
        ("personality_rights", "501"),
        ("other_non_property", "101"),
        ("ip_without_amount", "499"),
        ("ip_without_amount", "1000.01"),
        ("jurisdiction_objection", "49"),
        ("enforcement_without_amount", "501"),
        ("divorce", "100.001"),  # not a whole fen
    ],
)
def test_schedule_outside_the_statutory_range_is_refused(field: str, value: str) -> None:
    with pytest.raises(ValidationError, match=field):
        schedule(**{field: value})


def test_schedule_bounds_are_inclusive_and_round_trip_as_json() -> None:
    low = schedule(divorce="50", personality_rights="100", ip_without_amount="500")
    high = schedule(divorce="300", personality_rights="500", ip_without_amount="1000")
    assert low.divorce == D(50) and high.divorce == D(300)
    assert CourtFeeSchedule.model_validate(high.as_json()) == high
    with pytest.raises(ValidationError):
        CourtFeeSchedule.model_validate({**high.as_json(), "unknown": 1})
