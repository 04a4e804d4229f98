"""Self-contained HTML reports and static pictures (``--html``, ``--svg``, ``--png``).

Needs the ``mdiag[report]`` extra (Jinja2); nothing in the core CLI imports this
package unless one of those options is given. See docs/report.md.
"""
