"""Cobranza voicebot: an open-source voicebot and IVR for debt collection."""
