"""``mdiag groups``: the host's memberships per interface, with source filters, MAC and block."""

from __future__ import annotations

import argparse
from typing import Any

from mdiag.cli import options
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus

HELP = ("current group memberships per interface (/proc/net/igmp, mcfilter, igmp6, mcfilter6), "
        "classified and mapped to MACs")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--iface", type=options.iface, action="append", default=[], metavar="IFACE",
                        help="only this interface (repeatable; default: all)")
    options.add_netns(parser)
    parser.add_argument("--json", action="store_true", help="print JSON (docs/sockets.md)")


def _describe_group(group: str) -> dict[str, Any]:
    from mdiag.core.addresses import AddressError, classify

    try:
        c = classify(group)
        return {"mac": str(c.mac), "block": c.block, "scope": c.scope, "name": c.name}
    except AddressError:  # a group the registry cannot place still gets listed
        from mdiag.core.addresses import multicast_mac

        return {"mac": str(multicast_mac(group)), "block": None, "scope": None, "name": None}


@options.in_netns
def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from mdiag.adapters import interfaces
    from mdiag.cli import render

    errors: list[str] = []
    wanted: list[int] = []
    for name in dict.fromkeys(args.iface):
        try:
            wanted.append(interfaces.interface_index(name))
        except interfaces.InterfaceNotFound as exc:
            errors.append(exc.message)
    state = interfaces.igmp_state()
    state6 = interfaces.mld_state()
    if args.iface:
        state = tuple(i for i in state if i.index in wanted)
        state6 = tuple(i for i in state6 if i.index in wanted)
    out: list[dict[str, Any]] = []
    for iface in state:
        for m in iface.memberships:
            out.append({"iface": iface.name, "index": iface.index, "family": 4, "igmp_version": iface.version,
                        "mld_version": None, **m.to_json(), **_describe_group(m.group)})
    for iface6 in state6:
        mld = interfaces.effective_force_mld_version(iface6.name)
        for m in iface6.memberships:
            out.append({"iface": iface6.name, "index": iface6.index, "family": 6, "igmp_version": None,
                        "mld_version": f"v{mld}" if mld else "auto", **m.to_json(), **_describe_group(m.group)})
    if args.json:
        render.emit_json({"memberships": out, "errors": errors}, env.stdout, "groups")
    elif out:
        rows = []
        for e in out:
            sources = ", ".join(s["source"] + ("" if s["include"] else " (excluded)") for s in e["sources"])
            if not e["sources_known"]:
                sources = "? (not listed by the kernel)"
            version = e["igmp_version"] or ("MLD" + (e["mld_version"] if e["mld_version"] != "auto" else ""))
            rows.append([e["iface"], version, e["group"], str(e["users"]), e["mode"].upper(),
                         sources or "any",
                         e["mac"], e["block"] or "-", e["name"] or ""])
        render.table(rows, ["iface", "version", "group", "users", "mode", "sources", "MAC", "block", "name"],
                     env.stdout)
    elif not errors:
        print("no memberships" + (f" on {', '.join(args.iface)}" if args.iface else ""), file=env.stdout)
    for line in errors:
        env.error(line)
    return ExitStatus.BAD_INPUT if errors else ExitStatus.OK
