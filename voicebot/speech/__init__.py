"""voicebot/speech"""
