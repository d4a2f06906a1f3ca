"""voicebot/audio"""
