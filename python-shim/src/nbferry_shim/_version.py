"""Single source of the shim version; the coordinator substitutes the same string for {{VERSION}}."""

VERSION = "0.2.0"
PROTOCOL = 1
