"""Pure core: addresses, message models, float codes, timers, state machines, findings.

Nothing under mdiag.core touches the outside world: no sockets, files, clocks, scapy
or netifaces. Time is passed in; results (including problems) are returned as values.
"""
