"""``mdiag lab``: a namespace lab of hosts around a snooping Linux bridge (up, down, status, exec)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from typing import Any

from mdiag.cli import options
from mdiag.cli.environment import Environment
from mdiag.errors import ExitStatus, InputError

HELP = "build, inspect and tear down a namespace lab: hosts on a snooping, querying Linux bridge (root)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="lab_action", metavar="ACTION", parser_class=type(parser))
    sub.required = True

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--lab-prefix", dest="prefix", type=options.lab_prefix, default=None, metavar="P",
                       help="namespace name prefix: 'md' + letters/digits (default mdlab), as every "
                            "lab-aware command spells it")
        options.deprecated(p, "--prefix", "--lab-prefix", dest="prefix", type=options.lab_prefix)

    up = sub.add_parser("up", help="build the lab (idempotent)", description="Build the lab: "
                        "namespaces P-h1..P-hN on veths to bridge br0 in namespace P-br.")
    common(up)
    up.add_argument("--hosts", type=int, default=3, metavar="N", help="number of hosts (default 3)")
    up.add_argument("--querier", choices=("off", "v2", "v3"), default="v3",
                    help="the bridge's own IGMP querier and its version (default v3)")
    up.add_argument("--mld-version", type=int, choices=(1, 2), default=2,
                    help="MLD version of the bridge's querier in a dual-stack lab (default 2)")
    up.add_argument("--ipv4-only", action="store_true",
                    help="no IPv6 (default: dual-stack, the bridge snoops and queries MLD too)")
    up.add_argument("--snooping", choices=("on", "off"), default="on",
                    help="IGMP and MLD snooping (default on)")
    up.add_argument("--flood", choices=("on", "off"), default="on",
                    help="mcast_flood on the host ports (default on, as Linux): without a querier the "
                         "bridge floods all multicast to ports with it, and to none without it")
    up.add_argument("--fast", action="store_true",
                    help="short timers for experiments: query 2 s, last member 0.1 s x 2")
    up.add_argument("--query-interval", type=float, metavar="S", help="bridge query interval (s)")
    up.add_argument("--query-response-interval", type=float, metavar="S", help="max response time (s)")
    up.add_argument("--last-member-interval", type=float, metavar="S", help="last member query interval (s)")
    up.add_argument("--last-member-count", type=int, metavar="N", help="last member query count")
    up.add_argument("--membership-interval", type=float, metavar="S", help="group membership interval (s)")
    up.add_argument("--json", action="store_true", help="print the lab as JSON (docs/lab.md)")

    down = sub.add_parser("down", help="remove the lab's namespaces (and everything in them)")
    common(down)

    status = sub.add_parser("status", help="hosts, bridge settings and the bridge's group table")
    common(status)
    status.add_argument("--json", action="store_true", help="print JSON (docs/lab.md)")

    ex = sub.add_parser("exec", help="run a command inside a lab host: mdiag lab exec h1 -- CMD",
                        description="Run CMD inside host HOST's namespace (ip netns exec). "
                        "Put -- before CMD.")
    common(ex)
    ex.add_argument("host", metavar="HOST", help="h1, h2, ... or 'br' for the bridge namespace")
    ex.add_argument("cmd", nargs=argparse.REMAINDER, metavar="CMD", help="command and arguments")


def _lab_module() -> Any:
    from mdiag.adapters import lab

    return lab


def run(args: argparse.Namespace, env: Environment) -> ExitStatus | int:
    lab_mod = _lab_module()
    prefix = args.prefix or lab_mod.DEFAULT_PREFIX
    lab_mod.Lab(prefix=prefix)  # validates the prefix (InputError: one line)
    action = args.lab_action
    if action == "up":
        return _up(args, env, lab_mod, prefix)
    if action == "down":
        _need_root(lab_mod)
        removed = lab_mod.Lab(prefix=prefix).down()
        if removed:
            print(f"removed {len(removed)} namespaces: {' '.join(removed)}", file=env.stdout)
        else:
            print(f"no lab with prefix {prefix} was up", file=env.stdout)
        return ExitStatus.OK
    if action == "status":
        return _status(args, env, lab_mod, prefix)
    return _exec(args, env, lab_mod, prefix)


def _need_root(lab_mod: Any) -> None:
    lab_mod.require_root()


def _up(args: argparse.Namespace, env: Environment, lab_mod: Any, prefix: str) -> ExitStatus:
    base = lab_mod.BridgeConfig.fast if args.fast else lab_mod.BridgeConfig
    overrides = {k: v for k, v in {
        "query_interval": args.query_interval,
        "query_response_interval": args.query_response_interval,
        "last_member_interval": args.last_member_interval,
        "last_member_count": args.last_member_count,
        "membership_interval": args.membership_interval}.items() if v is not None}
    config = base(snooping=args.snooping == "on", querier=args.querier, mld_version=args.mld_version,
                  flood_unregistered=args.flood == "on", **overrides)
    lab = lab_mod.Lab(prefix=prefix, hosts=args.hosts, bridge=config, ipv6=not args.ipv4_only)
    existing = lab_mod.Lab.existing(prefix)
    if existing is not None and existing.is_up() and existing.ipv6 != lab.ipv6:
        raise InputError(f"lab {prefix} is up {'dual-stack' if existing.ipv6 else 'IPv4-only'}: take it "
                         f"down first (mdiag lab down{'' if prefix == lab_mod.DEFAULT_PREFIX else ' --lab-prefix ' + prefix})"
                         " to build it " + ("IPv4-only" if existing.ipv6 else "dual-stack"))
    built = lab.up()
    if args.json:
        from mdiag.cli import render

        render.emit_json({"built": built, "lab": lab.describe(),
                          "bridge_settings": lab.bridge_settings()}, env.stdout, "lab")
        return ExitStatus.OK
    verb = "built" if built else "already up (bridge settings re-applied)"
    querier = args.querier if args.ipv4_only or args.querier == "off" else f"{args.querier} + MLDv{args.mld_version}"
    addresses = lab_mod.BRIDGE_ADDRESS + ("" if args.ipv4_only else f", {lab_mod.BRIDGE_ADDRESS6}")
    print(f"lab {prefix} {verb}: {args.hosts} hosts on bridge {lab_mod.BRIDGE} "
          f"({addresses}, snooping {args.snooping}, querier {querier}"
          f"{'' if args.flood == 'on' else ', mcast_flood off'})", file=env.stdout)
    _hosts_table(lab, env)
    named = "" if prefix == lab_mod.DEFAULT_PREFIX else f" --lab-prefix {prefix}"
    print(f"run commands with: mdiag lab exec{named} h1 -- CMD   (tear down: mdiag lab down{named})",
          file=env.stdout)
    return ExitStatus.OK


def _hosts_table(lab: Any, env: Environment) -> None:
    from mdiag.cli import render

    if lab.ipv6:
        render.table(([h.name, h.netns, h.iface, f"{h.address}/{h.prefixlen}", f"{h.address6}/64",
                       h.link_local, h.mac, h.bridge_port] for h in lab.all_hosts),
                     ["host", "namespace", "iface", "IPv4", "IPv6", "link-local", "MAC", "bridge port"],
                     env.stdout)
        return
    render.table(([h.name, h.netns, h.iface, f"{h.address}/{h.prefixlen}", h.mac, h.bridge_port]
                  for h in lab.all_hosts),
                 ["host", "namespace", "iface", "address", "MAC", "bridge port"], env.stdout)


def _status(args: argparse.Namespace, env: Environment, lab_mod: Any, prefix: str) -> ExitStatus:
    from mdiag.cli import render

    _need_root(lab_mod)
    lab = lab_mod.Lab.existing(prefix)
    state = (lab or lab_mod.Lab(prefix=prefix)).state()
    if state == "partial":  # a build that was killed halfway: never reported as up
        found = [ns for ns in lab_mod.list_names() if ns.startswith(prefix + "-")]
        if args.json:
            render.emit_json({"up": False, "partial": True, "prefix": prefix, "namespaces": found},
                             env.stdout, "lab")
        else:
            down = "mdiag lab down" + ("" if prefix == lab_mod.DEFAULT_PREFIX else f" --lab-prefix {prefix}")
            print(f"lab {prefix} is PARTIAL: {len(found)} namespaces left by a build that did not finish; "
                  f"'mdiag lab up' rebuilds it, '{down}' removes it", file=env.stdout)
        return ExitStatus.PROBLEM_FOUND
    if lab is None or state != "up":
        if args.json:
            render.emit_json({"up": False, "prefix": prefix}, env.stdout, "lab")
        else:
            named = "" if prefix == lab_mod.DEFAULT_PREFIX else f" --lab-prefix {prefix}"
            print(f"no lab with prefix {prefix} is up (build one with: mdiag lab up{named})", file=env.stdout)
        return ExitStatus.PROBLEM_FOUND
    settings = lab.bridge_settings()
    mdb = lab.mdb()
    routers = lab.router_ports()
    by_port = {h.bridge_port: h.name for h in lab.all_hosts}
    if args.json:
        render.emit_json({"up": True, "lab": lab.describe(), "bridge_settings": settings,
                          "mdb": mdb, "router_ports": routers}, env.stdout, "lab")
        return ExitStatus.OK
    querier = "off" if not settings.get("mcast_querier") else f"v{settings.get('mcast_igmp_version')}"
    if lab.ipv6 and settings.get("mcast_querier"):
        querier += f" + MLDv{settings.get('mcast_mld_version', 2)}"
    print(f"lab {prefix}: {lab.hosts} hosts{', dual-stack' if lab.ipv6 else ', IPv4 only'}, bridge {lab_mod.BRIDGE} in {lab.bridge_netns}: snooping "
          f"{'on' if settings.get('mcast_snooping') else 'off'}, querier {querier}, query interval "
          f"{settings.get('mcast_query_intvl')} s, last member {settings.get('mcast_last_member_intvl')} s"
          f" x {settings.get('mcast_last_member_cnt')}, mcast_flood "
          f"{'on' if settings.get('port_mcast_flood', True) else 'off'}", file=env.stdout)
    _hosts_table(lab, env)
    print(file=env.stdout)
    if mdb:
        # IPv4 (IGMP) entries first, then IPv6 (MLD), each in address order
        def order(e: dict[str, Any]) -> tuple[int, str]:
            import ipaddress

            grp = str(e.get("grp", ""))
            try:
                address = ipaddress.ip_address(grp)
            except ValueError:
                return (9, grp)
            return (address.version, f"{int(address):040d}")

        render.table(([e.get("grp"), e.get("src", ""), by_port.get(e.get("port"), e.get("port")),
                       e.get("filter_mode", ""), e.get("state", ""), _timer(e.get("timer"))]
                      for e in sorted(mdb, key=order)),
                     ["group", "source", "member", "mode", "state", "timer s"], env.stdout)
    else:
        print("bridge group table: empty (no host has joined a group)", file=env.stdout)
    if routers:
        print("router ports: " + ", ".join(str(r.get("port")) for r in routers), file=env.stdout)
    return ExitStatus.OK


def _timer(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value or "")


def _exec(args: argparse.Namespace, env: Environment, lab_mod: Any, prefix: str) -> int:
    _need_root(lab_mod)
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise InputError("no command given: mdiag lab exec HOST -- CMD [ARGS...]")
    lab = lab_mod.Lab.existing(prefix)
    if lab is None:
        named = "" if prefix == lab_mod.DEFAULT_PREFIX else f" --lab-prefix {prefix}"
        raise lab_mod.LabError(f"no lab with prefix {prefix} is up: build one with 'mdiag lab up{named}'")
    if args.host in ("br", "bridge"):
        netns = lab.bridge_netns
    else:
        netns = lab.host(args.host).netns
    argv = ["ip", "netns", "exec", netns, *cmd]
    real = env.stdout is sys.stdout and env.stderr is sys.stderr and env.stdin is sys.stdin
    try:
        if real:
            return subprocess.run(argv).returncode
        proc = subprocess.run(argv, capture_output=True, text=True, input=env.stdin.read() or None,
                              timeout=lab_mod.DEFAULT_TIMEOUT)
    except FileNotFoundError:
        raise InputError(f"command not found: {cmd[0]}") from None
    env.stdout.write(proc.stdout)
    env.stderr.write(proc.stderr)
    return proc.returncode
