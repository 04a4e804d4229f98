"""``mdiag monitor``: a passive, continuous ``analyze`` of a live interface.

* :mod:`~mdiag.monitor.metrics`  the Prometheus metrics as data (names, labels, help)
* :mod:`~mdiag.monitor.state`    counters harvested from the incremental analyzer, kept bounded
* :mod:`~mdiag.monitor.ring`     the frame ring and the incident pcaps
* :mod:`~mdiag.monitor.events`   JSON lines
* :mod:`~mdiag.monitor.runner`   the monitor and its live capture loop

docs/monitor.md is the user's guide (metrics table, alert rules, dashboard).
"""
