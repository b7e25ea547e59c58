from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.attachments.names import MAX_NAME_BYTES, safe_filename, split_extension


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd.png", "passwd.png"),
        ("..\\..\\Windows\\system32\\cmd.jpg", "cmd.jpg"),
        ("/abs/path/photo.JPG", "photo.jpg"),
        ("", "attachment"),
        (None, "attachment"),
        ("...", "attachment"),
        (".png", "attachment.png"),
        ("con.txt", "_con.txt"),
        ("LPT1", "_LPT1"),
        ("aux.tar.pdf", "_aux.tar.pdf"),
        ("photo\u202egnp.exe", "photognp.exe"),  # the right-to-left override trick
        ("bad\x00name\x07.pdf", "badname.pdf"),
        ('what?:is<this>|"file"*.csv', "what__is_this___file__.csv"),
        ("  spaced   out  .txt. ", "spaced out.txt"),
        ("résumé.pdf", "résumé.pdf"),
        ("report.final.v2.docx", "report.final.v2.docx"),
    ],
)
def test_names_are_made_safe(raw: str | None, safe: str) -> None:
    assert safe_filename(raw) == safe


def test_an_overlong_name_is_cut_keeping_its_extension() -> None:
    name = safe_filename("é" * 300 + ".jpeg")
    assert name.endswith("é.jpeg")
    assert len(name.encode()) <= MAX_NAME_BYTES


def test_a_long_tail_after_a_dot_is_not_an_extension() -> None:
    assert split_extension("notes." + "x" * 40) == ("notes." + "x" * 40, "")
    assert split_extension("Photo.JPeG") == ("Photo", ".jpeg")


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
def test_any_name_becomes_a_plain_file_name(raw: str) -> None:
    safe = safe_filename(raw)
    assert safe
    assert "/" not in safe and "\\" not in safe
    assert not any(char in safe for char in '<>:"|?*')
    assert not any(ord(char) < 32 for char in safe)
    assert not safe.startswith((".", " ")) and not safe.endswith((".", " "))
    assert len(safe.encode()) <= MAX_NAME_BYTES
    assert safe_filename(safe) == safe


@given(st.text(alphabet=string.ascii_letters, min_size=1, max_size=20))
def test_ordinary_names_are_left_alone(stem: str) -> None:
    reserved = (
        {"con", "prn", "aux", "nul"}
        | {f"com{i}" for i in range(10)}
        | {f"lpt{i}" for i in range(10)}
    )
    if stem.lower() not in reserved:
        assert safe_filename(f"{stem}.pdf") == f"{stem}.pdf"
