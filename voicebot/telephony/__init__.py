"""voicebot/telephony"""
