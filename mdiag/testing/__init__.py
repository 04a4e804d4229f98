"""Test support shipped with mdiag (pytest plugin, lab fixtures)."""
