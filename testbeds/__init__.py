"""Throwaway servers for tests and benchmarks (PostgreSQL, the kamailio/baresip SIP bed).

Not part of the installed package: the wheel ships ``voicebot`` and ``api`` only. Tests
reach this folder through pytest's ``pythonpath``; benchmarks through ``bench/_repo.py``.
"""
