"""voicebot/storage"""
