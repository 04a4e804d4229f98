"""``python -m mdiag``."""

from mdiag.cli.main import main

raise SystemExit(main())
