"""Call recordings: both directions of every answered call, stored, kept as the rules say.

See README "Call recordings" for the format, the storage layout, retention and the notice.
"""
