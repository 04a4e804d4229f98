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
