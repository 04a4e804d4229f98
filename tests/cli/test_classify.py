"""`mdiag classify`: table, JSON, bad inputs."""

from mdiag.errors import ExitStatus


def test_table(cli):
    result = cli("classify", "224.0.0.1", "233.22.30.5", "239.255.255.250", "ff02::1")
    assert result.status == ExitStatus.OK
    header = result.stdout.splitlines()[0]
    for column in ("group", "IANA block", "scope", "name", "MAC", "forwarding", "details"):
        assert column in header
    assert "all systems on this subnet" in result.stdout
    assert "AS 5662" in result.stdout
    assert "SSDP (Local Scope)" in result.stdout
    assert "admin-scoped: Local Scope " in result.stdout
    assert "link-local (2)" in result.stdout


def test_json_schema(cli):
    body = cli("classify", "--json", "232.1.1.1", "234.192.0.2").json()
    assert body["schema"] == 1 and body["command"] == "classify" and body["errors"] == []
    ssm, prefix = body["results"]
    assert set(ssm) >= {"input", "group", "version", "block", "block_key", "block_range", "block_cidrs", "rfc", "scope",
                        "sub_scope", "name", "mac", "consequence", "facts", "details"}
    assert ssm["block_key"] == "ssm" and ssm["block_range"] == "232.0.0.0/8"
    assert ssm["block_cidrs"] == ["232.0.0.0/8"]
    glop = cli("classify", "--json", "233.1.1.1").json()["results"][0]
    assert glop["block_cidrs"][0] == "233.0.0.0/9" and glop["block_cidrs"][-1] == "233.248.0.0/14"
    assert "(S,G)" in ssm["consequence"]
    assert prefix["details"]["unicast_prefix"] == "192.0.2.0/24"


def test_bad_and_good_mixed(cli):
    result = cli("classify", "10.0.0.1", "224.0.0.5", "239.1.1")
    assert result.status == ExitStatus.BAD_INPUT
    assert "OSPF all routers" in result.stdout
    assert result.stderr.splitlines() == [
        "mdiag: error: 10.0.0.1 is not multicast (IPv4 multicast is 224.0.0.0/4)",
        "mdiag: error: '239.1.1' is not an address (IPv4 needs four dotted octets, got 3)",
    ]


def test_json_bad_input_reported(cli):
    result = cli("classify", "--json", "nope")
    assert result.status == ExitStatus.BAD_INPUT
    assert result.json()["errors"][0]["input"] == "nope"


def test_vertical_layout_fits_80_columns_and_keeps_every_field(cli):
    from mdiag.cli.commands.classify import HEADERS

    result = cli("classify", "--vertical", "239.255.255.250", "ff15::1", "233.252.0.1", "10.0.0.1")
    assert result.status == ExitStatus.BAD_INPUT
    assert result.stderr.count("\n") == 1 and "10.0.0.1 is not multicast" in result.stderr
    blocks = result.stdout.rstrip("\n").split("\n\n")
    assert len(blocks) == 3
    assert all(len(line) <= 80 for line in result.stdout.splitlines())
    for block in blocks:
        starts = [line.split("  ")[0] for line in block.splitlines() if not line.startswith(" ")]
        assert starts == list(HEADERS)
    first = blocks[0].splitlines()
    assert first[0].split() == ["group", "239.255.255.250"]
    assert "scope-relative address 5: SSDP" in blocks[0]
    # wrapped lines continue under the value column
    assert "every port receives it" in blocks[1]
    joined = " ".join(line.strip() for line in blocks[1].splitlines() if line.startswith(" "))
    assert joined
    assert cli("classify", "-V", "--json", "239.1.1.1").status == ExitStatus.BAD_INPUT


def test_long_lists_keep_tabulates_layout(cli, monkeypatch):
    """Past BIG_TABLE_ROWS rows the streaming writer takes over with the very same layout."""
    from mdiag.cli import render

    monkeypatch.setattr(render, "BIG_TABLE_ROWS", 3)
    groups = "224.0.0.1 239.255.255.250 233.22.30.5 ff15::1 232.1.1.1 239.128.0.5\n"
    streamed = cli("classify", "-", stdin=groups)
    mac_streamed = cli("mac", "-", stdin=groups)
    monkeypatch.setattr(render, "BIG_TABLE_ROWS", 10_000)
    tabulated = cli("classify", "-", stdin=groups)
    mac_tabulated = cli("mac", "-", stdin=groups)
    assert streamed.status == tabulated.status == ExitStatus.OK
    assert streamed.stdout == tabulated.stdout
    assert mac_streamed.stdout == mac_tabulated.stdout
