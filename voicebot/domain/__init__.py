"""The ground floor: the call's domain types and the audio frame, importable by every layer.

Nothing here imports anything else of the project (tests/test_layers.py holds it to that),
so telephony, storage and the engine can share these types without depending on the dialog.
"""
