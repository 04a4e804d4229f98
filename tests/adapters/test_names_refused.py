"""Defence in depth: the adapters themselves refuse an empty or path-like interface or namespace.

Whatever a caller forgets, no socket is made without an explicit, valid interface, and no
``setns`` is attempted with something that is not a namespace name.
"""

from __future__ import annotations

import pytest

from mdiag.errors import InputError


@pytest.mark.parametrize("iface", ["", "..", "a/b", "x" * 16])
def test_sender_needs_an_interface(iface):
    from mdiag.adapters.sockets import Sender

    with pytest.raises(InputError):
        Sender("239.1.1.1", 5001, iface)


@pytest.mark.parametrize("iface", ["", "..", "a/b"])
def test_receiver_needs_an_interface(iface):
    from mdiag.adapters.sockets import Join, Receiver

    with pytest.raises(InputError):
        Receiver([Join("239.1.1.1")], iface, 5001)


@pytest.mark.parametrize("iface", ["", "../x"])
def test_interface_lookup_refuses_bad_names(iface):
    from mdiag.adapters import interfaces, rawsock

    with pytest.raises(InputError):
        interfaces.interface_index(iface)
    with pytest.raises(InputError):
        interfaces.hardware_address(iface)


@pytest.mark.parametrize("name", ["", "..", "../../proc/1/ns/net", "n" * 300])
def test_namespace_entry_refuses_paths(name):
    from mdiag.adapters.netns import entered, open_namespace

    with pytest.raises(InputError), entered(name):
        pytest.fail("entered a namespace that is not a name")
    with pytest.raises(InputError):
        open_namespace(name)
