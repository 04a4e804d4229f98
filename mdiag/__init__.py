"""mdiag: multicast and IGMP diagnostics for network engineers."""

__version__ = "0.1.0"
