"""Parsing multicast groups: accepted forms and one-line refusals naming the rule."""

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdiag.core.addresses import AddressError, IPv4Group, IPv6Group, as_group, parse_group, parse_ipv4
from mdiag.errors import ExitStatus, MdiagError

GOOD = [
    ("224.0.0.0", 0xE0000000),
    ("239.255.255.255", 0xEFFFFFFF),
    ("239.1.2.3", 0xEF010203),
    (" 232.1.1.1 ", 0xE8010101),
]


@pytest.mark.parametrize(("text", "value"), GOOD)
def test_parse_ipv4_groups(text, value):
    group = parse_group(text)
    assert isinstance(group, IPv4Group)
    assert group.value == value
    assert str(group) == text.strip()


BAD = [
    ("239.1.1", "is not an address (IPv4 needs four dotted octets, got 3)"),
    ("10.0.0.1", "10.0.0.1 is not multicast"),
    ("223.255.255.255", "is not multicast"),
    ("240.0.0.0", "is not multicast"),
    ("239.300.1.1", "octet 300 out of range"),
    ("239.1.1.01", "leading zero"),
    ("239.1..1", "octet 3 is empty"),
    ("239.1.1.x", "not a decimal number"),
    ("239.1.1.1.1", "got 5"),
    ("", "empty address"),
    ("fe80::1", "is not multicast (IPv6 multicast is ff00::/8)"),
    ("ff02::1%eth0", "zone index"),
    ("ff02:::1", "is not an address"),
    ("２３９.1.1.1", "not a decimal number"),
    ("239.1.1.0/24", "is a block or range, not one address"),
    ("239.1.1.1-9", "is a block or range, not one address"),
]


@pytest.mark.parametrize(("text", "fragment"), BAD)
def test_bad_inputs_say_why(text, fragment):
    with pytest.raises(AddressError) as info:
        parse_group(text)
    assert fragment in info.value.message
    assert "\n" not in info.value.message
    assert isinstance(info.value, MdiagError) and isinstance(info.value, ValueError)
    assert info.value.exit_status == ExitStatus.BAD_INPUT


def test_ipv6_group_fields():
    group = parse_group("ff3e::8000:1")
    assert isinstance(group, IPv6Group)
    assert group.flags == 3 and group.scope == 0xE
    assert str(group) == "ff3e::8000:1"


def test_as_group_accepts_many_forms():
    expected = IPv4Group(0xEF010203)
    for form in ("239.1.2.3", 0xEF010203, ipaddress.IPv4Address("239.1.2.3"), b"\xef\x01\x02\x03", expected):
        assert as_group(form) == expected
    assert as_group(ipaddress.IPv6Address("ff02::1")) == IPv6Group(0xFF02 << 112 | 1)
    with pytest.raises(AddressError):
        as_group(b"\x01\x02")
    with pytest.raises(AddressError):
        as_group(3.5)


@given(st.integers(0, 0xFFFFFFFF))
def test_parse_ipv4_round_trips_every_address(value):
    text = str(ipaddress.IPv4Address(value))
    assert parse_ipv4(text) == value
    if 0xE0000000 <= value <= 0xEFFFFFFF:
        assert str(parse_group(text)) == text
    else:
        with pytest.raises(AddressError, match="is not multicast"):
            parse_group(text)


@given(st.text(max_size=20))
def test_parse_never_raises_anything_but_address_error(text):
    try:
        parse_group(text)
    except AddressError as exc:
        assert "\n" not in exc.message


def test_public_api_names_resolve_to_the_right_objects():
    import importlib
    import subprocess
    import sys

    # fresh interpreter: import order must not let a submodule shadow a function
    code = ("from mdiag.core.addresses import is_ssm\n"
            "from mdiag.core.addresses import classify, multicast_mac\n"
            "assert callable(classify) and classify('239.1.1.1').block_key == 'admin-scoped'\n"
            "import mdiag.core.addresses as a\n"
            "assert sorted(a.__all__) == sorted(a._EXPORTS)\n"
            "assert all(getattr(a, n) is not None for n in a.__all__)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    module = importlib.import_module("mdiag.core.addresses")
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018
