"""mdiag querier --expect: the keys and time qualifiers of analyze --expect."""

from __future__ import annotations

import pytest

from mdiag.cli.commands.querier import _parse_expect
from mdiag.errors import UsageError


@pytest.mark.parametrize("items, family, parsed", [
    (["querier=198.18.0.1"], 4, ("198.18.0.1", "throughout", None)),
    (["querier@end=198.18.0.1"], 4, ("198.18.0.1", "at-end", None)),
    (["querier@any=198.18.0.1", "igmp-version=3"], 4, ("198.18.0.1", "any-time", 3)),
    (["querier@throughout=fe80::1", "mld-version=2"], 6, ("fe80::1", "throughout", 2)),
])
def test_querier_expectations_parse(items, family, parsed):
    assert _parse_expect(items, family) == parsed


@pytest.mark.parametrize("item, says", [
    ("querier@later=198.18.0.1", "querier@end="),
    ("igmp-version@end=3", "only querier takes a time qualifier"),
    ("querier@end", "is not KEY=VALUE"),
])
def test_bad_qualifiers_are_usage_errors(item, says):
    with pytest.raises(UsageError, match=says):
        _parse_expect([item], 4)
