"""``mdiag ifaces``: interfaces with the multicast facts that decide whether joins work."""

from __future__ import annotations

import argparse

from mdiag.cli import options
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus

HELP = ("interfaces: index, IPv4/IPv6 addresses, MAC, MULTICAST flag, IGMP/MLD version in force, "
        "rp_filter, mc_forwarding")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", type=options.iface, nargs="*", metavar="IFACE", help="only these interfaces (default: all)")
    options.add_netns(parser)
    parser.add_argument("--json", action="store_true", help="print JSON (docs/sockets.md)")


@options.in_netns
def run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from mdiag.adapters import interfaces
    from mdiag.cli import render

    errors: list[str] = []
    if args.names:
        igmp = interfaces.igmp_state(reveal_sources=False)
        mld = interfaces.mld_state(reveal_sources=False)
        infos = []
        for name in dict.fromkeys(args.names):
            try:
                infos.append(interfaces.describe(name, igmp, mld))
            except interfaces.InterfaceNotFound as exc:
                errors.append(exc.message)
    else:
        infos = interfaces.all_interfaces()
    if args.json:
        render.emit_json({"interfaces": [i.to_json() for i in infos], "errors": errors}, env.stdout, "ifaces")
    elif infos:
        rows = []
        for i in infos:
            force = {0: "auto", 1: "v1", 2: "v2"}.get(i.force_igmp_version, str(i.force_igmp_version))
            rpf = {0: "off", 1: "strict", 2: "loose"}.get(i.rp_filter, str(i.rp_filter))
            version = i.igmp_version or "-"
            if i.querier_seen:
                version += f" ({i.querier_seen} querier heard)"
            elif i.force_igmp_version in (1, 2):
                version += " (forced)"
            mld = ("off" if i.ipv6_disabled else
                   f"{i.mld_version} (forced)" if i.force_mld_version in (1, 2) else "auto")
            rows.append([str(i.index), i.name, "up" if i.up else "down",
                         "yes" if i.multicast else "NO", i.mac or "-",
                         " ".join(f"{a}/{p}" for a, p in i.ipv4) or "-",
                         "off" if i.ipv6_disabled else " ".join(f"{a}/{p}" for a, p in i.ipv6) or "-",
                         str(i.mtu or "-"), version, force, rpf, mld, "on" if i.mc_forwarding else "off",
                         f"{i.groups}/{i.mld_groups}"])
        render.table(rows, ["idx", "name", "state", "multicast", "MAC", "IPv4", "IPv6", "MTU", "IGMP",
                            "forced", "rp_filter", "MLD", "mc_fwd", "groups v4/v6"], env.stdout)
    for line in errors:
        env.error(line)
    return ExitStatus.BAD_INPUT if errors else ExitStatus.OK
