"""Thin adapters to the outside world: scapy, sockets, files, interfaces, namespaces.

Each third-party library is imported by exactly one adapter module.
"""
