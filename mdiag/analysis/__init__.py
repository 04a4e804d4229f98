"""Capture analysis: capture -> decoded messages -> state machines -> report."""
