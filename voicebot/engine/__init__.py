"""voicebot/engine"""
