"""pytest plugin (entry point ``pytest11: mdiag``): fixtures for multicast tests.

Fixtures are added by the lab and active-probing layers; see docs/ci.md.
"""
