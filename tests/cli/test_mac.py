"""`mdiag mac`: forward mapping, aliases, reverse lookup, JSON, bad inputs."""

from mdiag.errors import ExitStatus


def test_forward_table(cli):
    result = cli("mac", "239.1.2.3", "ff02::1", "224.0.0.22")
    assert result.status == ExitStatus.OK and result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["group", "MAC", "note"]
    assert "239.1.2.3" in lines[2] and "01:00:5e:01:02:03" in lines[2]
    assert "33:33:00:00:00:01" in lines[3]
    assert "flood" in lines[4]


def test_flooded_alias_and_shared_mac_notes(cli):
    result = cli("mac", "239.128.0.5", "239.1.2.3", "225.1.2.3")
    assert "same MAC as 224.0.0.5 (OSPF all routers): flooded" in result.stdout
    assert "same MAC as 225.1.2.3 (given here)" in result.stdout


def test_bad_inputs_each_get_a_line_and_good_ones_still_answer(cli):
    result = cli("mac", "239.1.1", "239.1.2.3", "10.0.0.1", "239.300.1.1")
    assert result.status == ExitStatus.BAD_INPUT
    assert "01:00:5e:01:02:03" in result.stdout
    errors = result.stderr.splitlines()
    assert errors == [
        "mdiag: error: '239.1.1' is not an address (IPv4 needs four dotted octets, got 3)",
        "mdiag: error: 10.0.0.1 is not multicast (IPv4 multicast is 224.0.0.0/4)",
        "mdiag: error: '239.300.1.1' is not an address (octet 300 out of range 0-255)",
    ]
    assert "Traceback" not in result.stderr


def test_aliases_table(cli):
    result = cli("mac", "--aliases", "239.1.2.3")
    assert result.status == ExitStatus.OK
    assert "01:00:5e:01:02:03 is shared by 32 groups (239.1.2.3 marked *):" in result.stdout
    assert "* 239.1.2.3" in result.stdout
    assert "224.1.2.3" in result.stdout and "239.129.2.3" in result.stdout


def test_aliases_json(cli):
    result = cli("mac", "--aliases", "--json", "239.1.2.3", "ff02::1")
    body = result.json()
    assert body["schema"] == 1 and body["command"] == "mac" and body["mode"] == "aliases"
    first, second = body["results"]
    assert len(first["aliases"]) == 32
    assert sum(a["given"] for a in first["aliases"]) == 1
    assert second["aliases"] is None and second["mac"] == "33:33:00:00:00:01"


def test_reverse(cli):
    result = cli("mac", "--reverse", "01:00:5e:00:40:20")
    assert result.status == ExitStatus.OK
    assert "224.0.64.32" in result.stdout and "224.128.64.32" in result.stdout
    body = cli("mac", "--reverse", "--json", "0100.5e00.4020").json()
    groups = [g["group"] for g in body["results"][0]["groups"]]
    assert len(groups) == 32 and groups[0] == "224.0.64.32" and groups[1] == "224.128.64.32"


def test_reverse_ipv6_mac_answers_with_a_pattern(cli):
    result = cli("mac", "--reverse", "--json", "33:33:ff:12:34:56")
    item = result.json()["results"][0]
    assert item["version"] == 6 and item["example"] == "ff02::1:ff12:3456"


def test_reverse_refuses_non_multicast_mac(cli):
    result = cli("mac", "--reverse", "00:11:22:33:44:55", "01:00:5e:00:00:01")
    assert result.status == ExitStatus.BAD_INPUT
    assert result.stderr.strip() == ("mdiag: error: 00:11:22:33:44:55 is not a multicast MAC "
                                     "(the I/G bit, the lowest bit of the first octet, is 0)")
    assert "224.0.0.1" in result.stdout


def test_json_errors_listed(cli):
    body = cli("mac", "--json", "239.1.2.3", "nope").json()
    assert body["results"][0]["mac"] == "01:00:5e:01:02:03"
    assert body["errors"][0]["input"] == "nope"


def test_no_arguments_is_usage_error(cli):
    result = cli("mac")
    assert result.status == ExitStatus.BAD_INPUT
    assert result.stderr.count("\n") == 1


def test_dash_reads_groups_from_stdin(cli):
    result = cli("mac", "-", "224.0.0.1", stdin="239.1.1.1 239.129.1.1\n# comment\n\nff02::1  # all nodes\n")
    assert result.status == ExitStatus.OK
    groups = [line.split()[0] for line in result.stdout.splitlines()[2:]]
    assert groups == ["239.1.1.1", "239.129.1.1", "ff02::1", "224.0.0.1"]
    classify = cli("classify", "--json", "-", stdin="233.22.30.5\n")
    assert classify.json()["results"][0]["details"]["glop_as"] == 5662


def test_plan_file_names_the_channels_behind_a_mac(cli, tmp_path):
    plan = tmp_path / "plan.txt"
    plan.write_text("239.192.10.4 Sport 1 HD\n239.64.10.0/24\n239.1.1\n")
    result = cli("mac", "--reverse", "--json", "01:00:5e:40:0a:04", "--file", str(plan))
    assert result.status == ExitStatus.BAD_INPUT  # line 3 is unreadable, and said so
    rows = {row["group"]: row["plan"] for row in result.json()["results"][0]["groups"]}
    assert rows["239.192.10.4"] == ["Sport 1 HD"]
    assert rows["239.64.10.4"] == [f"{plan} line 2"]
    assert rows["224.64.10.4"] == []
    assert "line 3" in result.stderr
    table = cli("mac", "239.192.10.4", "-f", str(plan))
    assert "in plan: Sport 1 HD" in table.stdout
    missing = cli("mac", "239.1.1.1", "-f", str(tmp_path / "nope.txt"))
    assert missing.status == ExitStatus.BAD_INPUT and "nope.txt: no such file" in missing.stderr


def test_stdin_line_without_end_is_refused_not_swallowed(cli):
    """`mdiag mac - < /dev/zero` must not read gigabytes into one line."""
    result = cli("mac", "239.1.1.1", "-", stdin="0" * (70 * 1024))
    assert result.status == 2
    assert result.stderr.count("\n") == 1 and "standard input line 1 is longer than 64 KiB" in result.stderr
    assert "Traceback" not in result.stderr


def test_argument_that_is_not_utf8_is_named_once(cli):
    """argv bytes that are not UTF-8 arrive as surrogates; the line names the input once."""
    for command in ("mac", "classify"):
        result = cli(command, "a\udcff")
        assert result.status == 2 and result.stderr.count("\n") == 1
        assert result.stderr.count("udcff") == 1 and "is not an address" in result.stderr


def test_plan_file_is_read_with_a_line_bound_and_errors_name_their_line(cli, tmp_path):
    endless = tmp_path / "endless.txt"
    endless.write_bytes(b"0" * (70 * 1024))
    result = cli("mac", "239.1.1.1", "--file", str(endless))
    assert result.status == 2 and "239.1.1.1" in result.stdout
    assert result.stderr.count("\n") == 1 and "longer than 64 KiB" in result.stderr
    plan = tmp_path / "plan.txt"
    plan.write_text("239.1.1.1 One\n239.1.1 bad\n")
    result = cli("mac", "239.1.1.1", "--file", str(plan))
    assert result.status == 2 and "in plan: One" in result.stdout
    assert result.stderr.strip() == (f"mdiag: error: {plan} line 2: '239.1.1' is not an address "
                                     "(IPv4 needs four dotted octets, got 3)")
    assert cli("mac", "239.1.1.1", "--file", str(plan), "--json").json()["errors"][0]["origin"] == f"{plan} line 2"
