"""voicebot/campaigns"""
