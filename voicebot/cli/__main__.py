"""`python -m voicebot.cli` runs the voicebot command."""

from voicebot.cli import main

main()
