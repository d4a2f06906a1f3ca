"""The demo: a synthetic portfolio dialled end to end on the simulated carrier.

A product feature (``voicebot demo``) at the top layer, beside the CLI and wiring: it drives
the engine and campaigns, and neither of them imports it.
"""
