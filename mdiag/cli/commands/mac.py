"""``mdiag mac``: the Ethernet MAC of each group, its 32 aliases, or the groups behind a MAC."""

from __future__ import annotations

import argparse
from typing import Any

from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, InputError

HELP = "Ethernet MAC of multicast groups (01:00:5e / 33:33), the 32 IPv4 aliases, or groups behind a MAC"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="GROUP",
                        help="IPv4 or IPv6 multicast groups (with --reverse: MAC addresses); "
                             "'-' reads more from stdin, one or more per line, '#' comments")
    parser.add_argument("--aliases", action="store_true",
                        help="list the 32 IPv4 groups that share each group's MAC")
    parser.add_argument("--reverse", action="store_true",
                        help="inputs are MACs (01:00:5e:00:40:20, 0100.5e00.4020): list the groups behind each")
    parser.add_argument("-f", "--file", metavar="PLAN",
                        help="show which groups (and aliases, with --aliases/--reverse) this channel plan uses, "
                             "with their labels (same format as 'mdiag collisions --file')")
    parser.add_argument("--json", action="store_true", help="print JSON (schema in docs/addresses.md)")


def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from mdiag.cli import render
    from mdiag.cli.address_inputs import error_line, expand_stdin
    from mdiag.core import addresses as addr

    results: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    for text in expand_stdin(args.inputs, env):
        try:
            results.append(_reverse(text) if args.reverse else _forward(text, args.aliases))
        except addr.AddressError as exc:
            errors.append({"input": text, "error": exc.message})

    if not args.reverse:
        _note_shared(results)
    if args.file:
        plan_errors = _mark_plan(results, args.file, env)
        errors.extend(plan_errors)
    if args.json:
        render.emit_json({"mode": "reverse" if args.reverse else ("aliases" if args.aliases else "map"),
                          "results": results, "errors": errors}, env.stdout, "mac")
    elif args.reverse or args.aliases:
        _print_alias_tables(results, args.reverse, env)
    elif results:
        render.sized_table([[r["group"], r["mac"], "; ".join(r["notes"])] for r in results], ["group", "MAC", "note"],
                           env.stdout)
    for error in errors:
        env.error(error_line(error))
    return ExitStatus.BAD_INPUT if errors else ExitStatus.OK


def _forward(text: str, with_aliases: bool) -> dict[str, Any]:
    from mdiag.core import addresses as addr

    group = addr.parse_group(text)
    mac = addr.multicast_mac(group)
    notes: list[str] = []
    result: dict[str, Any] = {"input": text, "group": str(group), "version": group.version, "mac": str(mac),
                              "flooded_alias_of": None, "shares_mac_with": []}
    if isinstance(group, addr.IPv4Group):
        low = group.value & 0x7FFFFF
        if group.value >> 8 == 0xE00000:
            notes.append("224.0.0.0/24: snooping switches flood it to every port")
        elif low < 0x100:
            from mdiag.core.addresses.registry import IPV4_WELL_KNOWN

            base = addr.format_ipv4(0xE0000000 | low)
            known = IPV4_WELL_KNOWN.get(0xE0000000 | low)
            notes.append(f"same MAC as {base}{f' ({known})' if known else ''}: flooded to every port")
            result["flooded_alias_of"] = base
        if with_aliases:
            result["aliases"] = [_alias_row(g, group) for g in addr.aliases(group)]
    else:
        if group.value & 0xFFFFFFFF == 1 and group.scope not in (1, 2):
            notes.append("same MAC as ff02::1 (all nodes): every port receives it")
            result["flooded_alias_of"] = "ff02::1"
        if with_aliases:
            result["aliases"] = None
            notes.append("IPv6: the 33:33 MAC keeps the low 32 bits, so 2^88 groups share it (no list)")
    result["notes"] = notes
    return result


def _alias_row(group: Any, given: Any = None) -> dict[str, Any]:
    from mdiag.core.addresses import classify

    c = classify(group)
    return {"group": str(group), "block": c.block, "scope": c.scope, "name": c.name,
            "given": given is not None and group == given}


def _reverse(text: str) -> dict[str, Any]:
    from mdiag.core import addresses as addr

    mac = addr.Mac.parse(text)
    if mac.is_ipv6_multicast:
        import ipaddress

        low32 = mac.value & 0xFFFFFFFF
        low = f"{low32 >> 16:04x}:{low32 & 0xFFFF:04x}"
        # ff02::1:ffXX:XXXX solicited-node groups are by far the most common 33:33:ff MACs
        prefix = 0xFF020000000000000000000100000000 if low32 >> 24 == 0xFF else 0xFF02 << 112
        example = str(ipaddress.IPv6Address(prefix | low32))
        return {"input": text, "mac": str(mac), "version": 6, "groups": None,
                "ipv6_low32": low, "example": example,
                "notes": [f"every IPv6 group whose last 32 bits are {low} (2^88 groups), e.g. {example}"]}
    groups = addr.groups_for_mac(mac)
    return {"input": text, "mac": str(mac), "version": 4, "groups": [_alias_row(g) for g in groups], "notes": []}


def _mark_plan(results: list[dict[str, Any]], path: str, env: Environment) -> list[dict[str, str]]:
    """Add ``plan`` (labels, or origins for unlabelled entries) to alias rows the plan covers."""
    from mdiag.cli.address_inputs import read_plan
    from mdiag.core.addresses import parse_group
    from mdiag.core.addresses.plan import Entry

    errors: list[dict[str, str]] = []
    items: list[Any] = []
    problems: list[Any] = []
    read_plan(path, env, items.extend, problems, done="used")  # the same bounded reader as collisions --file
    items.extend(problems)
    entries = [item for item in items if isinstance(item, Entry)]
    errors.extend({"input": item.text, "origin": item.origin, "error": item.message}
                  for item in items if not isinstance(item, Entry))
    order = sorted(range(len(entries)), key=lambda i: entries[i].first)

    def names(text: str) -> list[str]:
        value = parse_group(text).value
        return [entries[i].label or entries[i].origin for i in order if entries[i].first <= value <= entries[i].last]

    for result in results:
        rows = result.get("groups") or result.get("aliases")
        if rows:
            for row in rows:
                row["plan"] = names(row["group"])
        elif "group" in result:  # plain mapping: which plan entries name this group
            result["plan"] = names(result["group"])
            if result["plan"]:
                result["notes"].append(f"in plan: {', '.join(result['plan'])}")
    return errors


def _note_shared(results: list[dict[str, Any]]) -> None:
    """When several given groups land on one MAC, say so on each row."""
    by_mac: dict[str, list[str]] = {}
    for r in results:
        if r["group"] not in by_mac.setdefault(r["mac"], []):
            by_mac[r["mac"]].append(r["group"])
    for r in results:
        others = [g for g in by_mac[r["mac"]] if g != r["group"]]
        if others:
            r["shares_mac_with"] = others
            unexplained = [g for g in others if g != r.get("flooded_alias_of")]
            if unexplained:
                r["notes"].insert(0, f"same MAC as {', '.join(unexplained)} (given here)")


def _print_alias_tables(results: list[dict[str, Any]], reverse: bool, env: Environment) -> None:
    from mdiag.cli import render

    for index, r in enumerate(results):
        if index:
            print(file=env.stdout)
        rows = r.get("groups") if reverse else r.get("aliases")
        if rows is None:
            print(f"{r['mac']}: {'; '.join(r['notes'])}", file=env.stdout)
            continue
        title = f"{r['mac']} is shared by {len(rows)} groups"
        if not reverse:
            title += f" ({r['group']} marked *)"
        if r["version"] == 4 and int(r["mac"].replace(":", ""), 16) & 0x7FFFFF < 0x100:
            title += f", among them {rows[0]['group']}: snooping switches flood this MAC to every port"
        print(title + ":", file=env.stdout)
        headers = ["group", "IANA block", "scope", "name"]
        with_plan = any("plan" in row for row in rows)
        if with_plan:
            headers.append("in plan")
        render.table(([("* " if row["given"] else "  ") + row["group"], row["block"], row["scope"], row["name"] or ""]
                      + ([", ".join(row.get("plan") or [])] if with_plan else []) for row in rows),
                     headers, env.stdout)
