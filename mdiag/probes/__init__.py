"""Active probes: the jobs that put traffic on a link and judge what comes back.

The active counterpart of :mod:`mdiag.analysis`. One module per job (:mod:`.querier`,
:mod:`.discover`, :mod:`.delay`, :mod:`.verify`, :mod:`.zap`, :mod:`.replay`, :mod:`.streams`),
each with the same shape:

* typed options in (a frozen dataclass, already validated by the CLI or the caller);
* a :class:`~mdiag.probes.network.Network` passed in: the only way a probe reaches sockets,
  namespaces and interfaces (:class:`mdiag.adapters.network.LiveNetwork` in real use, fakes in
  tests/probes);
* the pure judges of :mod:`mdiag.core` (compliance, discovery, delay, stream statistics) for
  every verdict;
* a report value out (with ``to_json()``), which the CLI only renders.

Nothing here parses arguments or prints; nothing here imports an adapter.
"""
