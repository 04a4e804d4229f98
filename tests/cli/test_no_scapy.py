"""The address commands never import scapy (nor netifaces): checked in a fresh interpreter."""

import subprocess
import sys
import textwrap


def test_address_commands_do_not_import_scapy(tmp_path):
    plan = tmp_path / "plan.txt"
    plan.write_text("239.1.1.1 A\n239.129.1.1 B\n")
    code = textwrap.dedent(f"""
        import io, sys
        from mdiag.cli.environment import Environment
        from mdiag.cli.main import main
        for argv in (["mac", "239.1.1.1"], ["mac", "--aliases", "239.1.1.1"],
                     ["mac", "--reverse", "01:00:5e:00:40:20"], ["classify", "239.1.1.1", "ff02::1"],
                     ["collisions", "--file", {str(plan)!r}], ["collisions", "--json", "239.0.0.0/8"]):
            main(argv, Environment(stdout=io.StringIO(), stderr=io.StringIO()))
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("scapy", "netifaces"))
        print(",".join(heavy))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_core_addresses_is_pure():
    """mdiag.core.addresses works with the I/O modules made unimportable."""
    code = textwrap.dedent("""
        import sys
        for name in ("socket", "select", "subprocess", "scapy", "netifaces", "tabulate"):
            sys.modules[name] = None
        from mdiag.core.addresses import classify, multicast_mac, groups_for_mac
        from mdiag.core.addresses.audit import audit
        from mdiag.core.addresses.plan import parse_plan
        assert str(multicast_mac("239.1.2.3")) == "01:00:5e:01:02:03"
        assert classify("ff7e:140:2001:db8::1234").details["rp"] == "2001:db8::1"
        assert len(groups_for_mac("01:00:5e:00:40:20")) == 32
        assert audit(list(parse_plan(["239.0.0.0/8"]))).colliding_macs == 1 << 23
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
