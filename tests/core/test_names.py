"""The naming rules of mdiag.core.names: interface names, namespace names, lab prefixes and hosts."""

from __future__ import annotations

import pytest

from mdiag.core import names
from mdiag.errors import InputError


@pytest.mark.parametrize("check, good", [
    (names.interface_name, ["lo", "eth0", "lab0", "br0.100", "a" * 15, "veth-x_1"]),
    (names.netns_name, ["mdlab-h1", "x", "ns:with:colons", "n" * 254, "a b"]),
    (names.lab_prefix, ["md", "mdlab", "md1234x5", "md" + "a" * 14]),
    (names.lab_host, ["h1", "h2", "h200"]),
])
def test_accepted(check, good):
    for name in good:
        assert check(name) == name


@pytest.mark.parametrize("check, bad", [
    (names.interface_name, ["", ".", "..", "a/b", "eth0:1", "a b", "a\tb", "x\n", "\x1b[2J", "a" * 16,
                            "é" * 8]),
    (names.netns_name, ["", ".", "..", "../../proc/1/ns/net", "/run/netns/x", "a/b", "x\x00", "\x1b]0;x",
                        "n" * 255]),
    (names.lab_prefix, ["", "mdlab\n", "MDLAB", "lab", "md-x", "md" + "a" * 15, "../x"]),
    (names.lab_host, ["", "h0", "h", "H1", "h1x", "br", "../h1", "h1000"]),
])
def test_refused(check, bad):
    for name in bad:
        with pytest.raises(InputError) as caught:
            check(name)
        assert "\n" not in caught.value.message
