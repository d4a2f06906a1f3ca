"""voicebot/dialog"""
