"""Conformance suites: one test class per contract, run against every implementation.

A backend is done when its subclass of the suite passes. Never imported by runtime code.
"""
