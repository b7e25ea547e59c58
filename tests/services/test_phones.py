"""Phone parsing, normalising, display and group eligibility (services/phones.py)."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from services import phones
from services.phones import NumberKind, ParsedPhone, PhoneError, PhoneProblem

P = PhoneProblem

# (what a person typed, E.164 it means or None, why it can't join a group or None)
GROUP_CAPABLE = [
    ("(415) 555-0123", "+14155550123"),
    ("415.555.0123", "+14155550123"),
    ("415-555-0123", "+14155550123"),
    ("4155550123", "+14155550123"),
    ("1 415 555 0123", "+14155550123"),
    ("+1 604 555 0199", "+16045550199"),
    ("+1 212 555 0142", "+12125550142"),
    ("212-555-0142", "+12125550142"),
    ("(212)555-0142", "+12125550142"),
    ("1 (212) 555-0142", "+12125550142"),
    ("+1-212-555-0142", "+12125550142"),
    ("212 555 0142", "+12125550142"),
    ("+12125550142", "+12125550142"),
    ("1.212.555.0142", "+12125550142"),
    ("tel:+1-212-555-0142", "+12125550142"),
    ("++14155550123", "+14155550123"),
    ("  (415) 555-0123  ", "+14155550123"),
    ("+1 (416) 555-0188", "+14165550188"),
    ("416-555-0188", "+14165550188"),
    ("+1 514 555 0111", "+15145550111"),
    ("+1 778 555 0123", "+17785550123"),
    ("+1 647 555 0199", "+16475550199"),
    ("+1 902 555 0133", "+19025550133"),
    ("+1 867 555 0144", "+18675550144"),
    ("+1 306 555 0155", "+13065550155"),
    ("+1 204 555 0166", "+12045550166"),
    ("+1 709 555 0177", "+17095550177"),
    ("+1 907 555 0123", "+19075550123"),
    ("+1 808 555 0123", "+18085550123"),
    ("+1 305 555 0123", "+13055550123"),
    ("(617) 555-0123 ext. 45", "+16175550123"),
    ("617-555-0123;ext=45", "+16175550123"),
    ("+1 206 867 5309", "+12068675309"),
    ("+1 500 555 0123", "+15005550123"),  # a "personal number": not on the refused list
    ("415-555-CALL", "+14155552255"),
    ("٤١٥٥٥٥٠١٢٣", "+14155550123"),  # Arabic-Indic digits
    ("４１５５５５０１２３", "+14155550123"),  # full-width digits
]

# Valid numbers that cannot join a group, and why.
REFUSED_VALID = [
    ("1-800-FLOWERS", "+18003569377", P.TOLL_FREE),
    ("1-800-555-1234", "+18005551234", P.TOLL_FREE),
    ("+1 888 555 0123", "+18885550123", P.TOLL_FREE),
    ("+1 877 555 0123", "+18775550123", P.TOLL_FREE),
    ("+1 866 555 0123", "+18665550123", P.TOLL_FREE),
    ("+1 855 555 0123", "+18555550123", P.TOLL_FREE),
    ("+1 844 555 0123", "+18445550123", P.TOLL_FREE),
    ("+1 833 555 0123", "+18335550123", P.TOLL_FREE),
    ("1-888-GOT-JUNK", "+18884685865", P.TOLL_FREE),
    ("+1 900 555 0123", "+19005550123", P.PREMIUM_RATE),
    ("1-900-PSYCHIC", "+19007792442", P.PREMIUM_RATE),
    ("+44 20 7946 0958", "+442079460958", P.OUTSIDE_REGION),
    ("011 44 20 7946 0958", "+442079460958", P.OUTSIDE_REGION),
    ("+44 800 123 4567", "+448001234567", P.OUTSIDE_REGION),
    ("+800 1234 5678", "+80012345678", P.OUTSIDE_REGION),
    ("+1 787 555 0123", "+17875550123", P.OUTSIDE_REGION),  # Puerto Rico
    ("+1 340 555 0123", "+13405550123", P.OUTSIDE_REGION),  # US Virgin Islands
    ("+1 671 555 0123", "+16715550123", P.OUTSIDE_REGION),  # Guam
    ("+1 670 555 0123", "+16705550123", P.OUTSIDE_REGION),  # Northern Mariana Islands
    ("+1 809 555 0123", "+18095550123", P.OUTSIDE_REGION),  # Dominican Republic
    ("+1 876 555 0123", "+18765550123", P.OUTSIDE_REGION),  # Jamaica
    ("+33 1 23 45 67 89", "+33123456789", P.OUTSIDE_REGION),
    ("+49 30 123456", "+4930123456", P.OUTSIDE_REGION),
    ("+61 2 9876 5432", "+61298765432", P.OUTSIDE_REGION),
    ("+52 55 1234 5678", "+525512345678", P.OUTSIDE_REGION),
    ("+81 3-1234-5678", "+81312345678", P.OUTSIDE_REGION),
    ("+91 98765 43210", "+919876543210", P.OUTSIDE_REGION),
    ("+86 10 1234 5678", "+861012345678", P.OUTSIDE_REGION),
    ("+7 495 123-45-67", "+74951234567", P.OUTSIDE_REGION),
    ("+55 11 91234-5678", "+5511912345678", P.OUTSIDE_REGION),
    ("+353 1 234 5678", "+35312345678", P.OUTSIDE_REGION),
    ("+27 21 123 4567", "+27211234567", P.OUTSIDE_REGION),
    ("+34 912 345 678", "+34912345678", P.OUTSIDE_REGION),
    ("+39 06 1234 5678", "+390612345678", P.OUTSIDE_REGION),
]

# Text that is no working number at all.
UNUSABLE = [
    ("", P.EMPTY),
    ("   ", P.EMPTY),
    ("\t\n", P.EMPTY),
    ("555-0123", P.TOO_SHORT),
    ("555-01", P.TOO_SHORT),
    ("12345", P.TOO_SHORT),  # an SMS short code
    ("1234", P.TOO_SHORT),
    ("99999", P.TOO_SHORT),
    ("5555", P.TOO_SHORT),
    ("911", P.TOO_SHORT),
    ("411", P.TOO_SHORT),
    ("+1 911", P.TOO_SHORT),
    ("00", P.TOO_SHORT),
    ("000", P.TOO_SHORT),
    ("415-555-012", P.TOO_SHORT),
    ("+1 415 555 012", P.TOO_SHORT),
    ("415 555 01234", P.TOO_LONG),
    ("+1 (415) 555-01234", P.TOO_LONG),
    ("4155550123999999", P.TOO_LONG),
    ("1111111111111111", P.TOO_LONG),
    ("9" * 30, P.TOO_LONG),
    ("+" + "1" * 20, P.TOO_LONG),
    ("1" * 251, P.TOO_LONG),
    ("415" * 90, P.TOO_LONG),
    ("44 20 7946 0958", P.TOO_LONG),  # a UK number typed without "+"
    ("1-800-CONTACTS", P.TOO_LONG),
    ("+1 555 555 5555", P.INVALID),  # area code 555 does not exist
    ("+1 415 055 0123", P.INVALID),
    ("+1 415 155 0123", P.INVALID),
    ("+1 015 555 0123", P.INVALID),
    ("+1 115 555 0123", P.INVALID),
    ("+1 700 555 0123", P.INVALID),
    ("+1 976 555 0123", P.INVALID),
    ("(000) 000-0000", P.INVALID),
    ("999-999-9999", P.INVALID),
    ("+1 999 999 9999", P.INVALID),
    ("+44 7700 900123", P.INVALID),
    ("+64 9 123 4567", P.INVALID),
    ("+882 1234 5678", P.INVALID),
    ("1", P.NOT_A_NUMBER),
    ("0", P.NOT_A_NUMBER),
    ("+", P.NOT_A_NUMBER),
    ("+1", P.NOT_A_NUMBER),
    ("abc", P.NOT_A_NUMBER),
    ("hello world", P.NOT_A_NUMBER),
    ("FLOWERS", P.NOT_A_NUMBER),
    ("call me", P.NOT_A_NUMBER),
    ("n/a", P.NOT_A_NUMBER),
    ("none", P.NOT_A_NUMBER),
    ("None", P.NOT_A_NUMBER),
    ("null", P.NOT_A_NUMBER),
    ("NaN", P.NOT_A_NUMBER),
    ("--", P.NOT_A_NUMBER),
    ("()", P.NOT_A_NUMBER),
    ("+ ( ) -", P.NOT_A_NUMBER),
    ("phone: unknown", P.NOT_A_NUMBER),
    ("+0 415 555 0123", P.NOT_A_NUMBER),
    ("+999 123 456", P.NOT_A_NUMBER),
    ("+1 415 555 0123 +1 604 555 0199", P.NOT_A_NUMBER),
    ("x" * 251, P.NOT_A_NUMBER),
    ("⁴¹⁵⁵⁵⁵⁰¹²³", P.NOT_A_NUMBER),  # superscripts are not digits people dial
]

ALL_INPUTS = (
    [text for text, _ in GROUP_CAPABLE]
    + [text for text, _, _ in REFUSED_VALID]
    + [text for text, _ in UNUSABLE]
)


def test_the_table_holds_over_100_distinct_inputs() -> None:
    assert len(set(ALL_INPUTS)) == len(ALL_INPUTS) >= 130


@pytest.mark.parametrize(("text", "e164"), GROUP_CAPABLE)
def test_group_capable_input_normalises_to_e164(text: str, e164: str) -> None:
    parsed = phones.parse_phone(text)
    assert isinstance(parsed, ParsedPhone)
    assert parsed.e164 == e164
    assert parsed.region in {"US", "CA"}
    assert parsed.group_capable
    assert phones.normalize(text) == e164
    assert phones.is_group_capable(text)
    assert phones.explain(text) is None


@pytest.mark.parametrize(("text", "e164", "problem"), REFUSED_VALID)
def test_valid_but_refused_numbers_say_why(text: str, e164: str, problem: PhoneProblem) -> None:
    parsed = phones.parse_phone(text)
    assert isinstance(parsed, ParsedPhone)
    assert parsed.e164 == e164
    assert parsed.problem is problem
    assert not phones.is_group_capable(text)
    assert phones.explain(text) == problem.message
    # Foreign and toll-free numbers are still real numbers: they normalise.
    assert phones.normalize(text) == e164


@pytest.mark.parametrize(("text", "problem"), UNUSABLE)
def test_unusable_text_is_refused_with_a_reason(text: str, problem: PhoneProblem) -> None:
    parsed = phones.parse_phone(text)
    assert isinstance(parsed, PhoneError)
    assert parsed.problem is problem
    assert problem.is_unusable
    assert phones.normalize(text) is None
    assert not phones.is_group_capable(text)
    assert phones.explain(text) == parsed.message


def test_demo_range_555_01xx_is_valid_in_us_and_canada() -> None:
    # The demo and test data rely on this (see PHONES_NOTE / phones module docstring).
    for n in range(100, 200):
        assert phones.is_group_capable(f"+1415555{n:04d}")
        assert phones.is_group_capable(f"+1604555{n:04d}")


def test_number_kinds_come_through_without_phonenumbers_types() -> None:
    assert phones.parse_phone("+1 800 555 1234").number_type is NumberKind.TOLL_FREE  # type: ignore[union-attr]
    assert phones.parse_phone("+91 98765 43210").number_type is NumberKind.MOBILE  # type: ignore[union-attr]
    assert phones.parse_phone("+1 500 555 0123").number_type is NumberKind.PERSONAL_NUMBER  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        (P.EMPTY, "No phone number"),
        (P.INVALID, "No valid phone number"),
        (P.NOT_A_NUMBER, "No valid phone number"),
        (P.OUTSIDE_REGION, "Number outside US/Canada"),
        (P.TOLL_FREE, "Toll-free numbers can't join a group text"),
    ],
)
def test_reasons_use_the_products_words(problem: PhoneProblem, message: str) -> None:
    assert problem.message == message


def test_every_reason_is_plain_words() -> None:
    for problem in PhoneProblem:
        assert problem.message[0].isupper()
        assert "_" not in problem.message
        assert "E.164" not in problem.message


def test_none_is_treated_as_no_number() -> None:
    assert phones.parse_phone(None) == PhoneError("", P.EMPTY)
    assert phones.normalize(None) is None
    assert phones.explain(None) == "No phone number"
    assert phones.format_display(None) == ""
    assert phones.digits(None) == ""


def test_default_region_reads_local_numbers_of_that_country() -> None:
    assert phones.normalize("020 7946 0958", default_region="GB") == "+442079460958"
    assert phones.normalize("(604) 555-0199", default_region="CA") == "+16045550199"


@pytest.mark.parametrize(
    ("e164", "shown"),
    [
        ("+14155550123", "(415) 555-0123"),
        ("+16045550199", "(604) 555-0199"),
        ("+18005551234", "(800) 555-1234"),
        ("+17875550123", "(787) 555-0123"),
        ("+442079460958", "+44 20 7946 0958"),
        ("+33123456789", "+33 1 23 45 67 89"),
        ("+919876543210", "+91 98765 43210"),
        ("415.555.0123", "(415) 555-0123"),
        ("", ""),
        ("garbage", "garbage"),
        ("12345", "12345"),
        ("x" * 300, "x" * 300),
    ],
)
def test_format_display(e164: str, shown: str) -> None:
    assert phones.format_display(e164) == shown


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(415) 555-0123", "4155550123"),
        ("+1 604 555 0199", "16045550199"),
        ("1-800-FLOWERS", "1800"),
        ("abc", ""),
        ("", ""),
        ("４１５", "415"),
        ("٤١٥", "415"),
    ],
)
def test_digits_for_search(text: str, expected: str) -> None:
    assert phones.digits(text) == expected


# --- properties ----------------------------------------------------------------------------

# Valid NANP shapes: area and exchange start 2-9; the 555 area code and N11 codes are excluded.
_area = st.sampled_from(["212", "305", "415", "617", "206", "512", "604", "416", "514", "778"])
_exchange = st.integers(200, 999).filter(lambda n: n % 100 != 11)
_line = st.integers(0, 9999)
_nanp = st.builds(lambda a, e, s: f"+1{a}{e}{s:04d}", _area, _exchange, _line)

_STYLES = [
    lambda d: f"({d[2:5]}) {d[5:8]}-{d[8:]}",
    lambda d: f"{d[2:5]}.{d[5:8]}.{d[8:]}",
    lambda d: f"{d[2:5]}-{d[5:8]}-{d[8:]}",
    lambda d: d[2:],
    lambda d: f"1 {d[2:5]} {d[5:8]} {d[8:]}",
    lambda d: f"+1 ({d[2:5]}) {d[5:8]} {d[8:]}",
    lambda d: f"  {d}  ",
]


@given(_nanp, st.sampled_from(_STYLES))
def test_any_typing_style_normalises_to_the_same_number(e164: str, style: object) -> None:
    typed = style(e164)  # type: ignore[operator]
    assert phones.normalize(typed) == phones.normalize(e164)


@given(_nanp)
def test_display_form_parses_back_to_the_same_number(e164: str) -> None:
    normal = phones.normalize(e164)
    if normal is not None:
        assert phones.normalize(phones.format_display(normal)) == normal
        assert phones.digits(normal) == normal[1:]


@given(st.text(max_size=400))
@example("\x00")
@example("+" * 300)
@example("1" * 249 + "a")
@example("\u202e+1 415 555 0123")
def test_any_text_gives_an_answer_never_an_exception(text: str) -> None:
    parsed = phones.parse_phone(text)
    assert isinstance(parsed, ParsedPhone | PhoneError)
    assert (phones.explain(text) is None) == phones.is_group_capable(text)
    assert phones.format_display(text) is not None
    assert phones.digits(text).isascii()
    if isinstance(parsed, ParsedPhone):
        assert parsed.e164.startswith("+")
        assert parsed.e164[1:].isdigit()
        assert len(parsed.e164) <= 16
    else:
        assert parsed.message


@given(st.text(max_size=60))
def test_normalize_is_idempotent(text: str) -> None:
    normal = phones.normalize(text)
    if normal is not None:
        assert phones.normalize(normal) == normal


@given(st.text(alphabet="0123456789+-(). ", min_size=251, max_size=2000))
def test_very_long_input_never_joins_a_group(text: str) -> None:
    assert not phones.is_group_capable(text)
    assert phones.normalize(text) is None


@given(st.integers(0, 99_999))
def test_short_codes_are_too_short(code: int) -> None:
    text = str(code)
    parsed = phones.parse_phone(text)
    assert isinstance(parsed, PhoneError)
    assert parsed.problem in {P.TOO_SHORT, P.NOT_A_NUMBER}
