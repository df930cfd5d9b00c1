"""Pure alert decisions and the webhook protocol: rules, events, signing, retries, allowlist.

No I/O, settings, clock or randomness of its own: time and random generators are passed in.
"""
