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
