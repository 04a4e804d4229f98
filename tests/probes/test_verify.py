"""mdiag.probes.verify with a fake network: receivers get the group, a non-member does not."""

from __future__ import annotations

import pytest

from mdiag.errors import InputError
from mdiag.probes import verify
from mdiag.probes.network import Endpoint
from tests.probes.fakes import FakeNetwork, udp_frame

MS = 1_000_000
G = "239.1.2.3"
SENDER, R1, R2, OTHER = (Endpoint("lab0", f"x-h{i}", f"h{i}") for i in range(1, 5))


def _network(leak_to: Endpoint | None = None) -> FakeNetwork:
    network = FakeNetwork(on_join=lambda at, g: [(3 * MS + i * MS, udp_frame(g, 5001)) for i in range(10)],
                          on_leave=lambda at, g: [(MS, udp_frame(g, 5001))])
    if leak_to is not None:  # a switch that floods: the non-member sees what the receivers get
        deliver = network.deliver

        def flooding(at, frame):
            deliver(at, frame)
            if at != leak_to and not frame.outgoing:
                deliver(leak_to, frame)
        network.deliver = flooding  # type: ignore[method-assign]
    return network


def _options(**kw) -> verify.VerifyOptions:
    base = dict(group=G, sender=SENDER, receivers=(R1, R2), non_members=(OTHER,), hold=0.05,
                leave_timeout=0.3, repeat=2)
    base.update(kw)
    return verify.VerifyOptions(**base)


def test_delivery_join_and_leave_delay_per_receiver():
    result = verify.run(_options(), _network())
    assert result["ok"], result["problems"]
    assert [r["host"] for r in result["receivers"]] == ["h2", "h3"]
    for r in result["receivers"]:
        assert r["delivered"] and r["datagrams"] == [10, 10]
        assert r["join_delay_ms"]["min"] == pytest.approx(3.0, abs=0.01)
        assert r["stopped_after_leave"]
    assert result["non_members"][0]["datagrams_while_joined"] == 0
    assert result["notes"] == [] and result["rounds_done"] == 2 and not result["interrupted"]


def test_a_flooding_switch_fails_the_non_member_check():
    result = verify.run(_options(), _network(leak_to=OTHER))
    assert not result["ok"]
    assert any("not a member" in p for p in result["problems"])


def test_without_a_non_member_the_report_says_snooping_was_not_checked():
    result = verify.run(_options(non_members=()), _network())
    assert result["ok"] and any("nothing checked that the switch keeps the group away" in n
                                for n in result["notes"])


def test_a_join_delay_limit():
    result = verify.run(_options(max_join=0.001, repeat=1), _network())
    assert not result["ok"] and any("exceeds --max-join" in p for p in result["problems"])


@pytest.mark.parametrize("kw", [{"receivers": ()}, {"repeat": 0}, {"port": 0}, {"size": 8}, {"pps": 1e6}])
def test_options_refuse_nonsense(kw):
    with pytest.raises(InputError):
        _options(**kw)
