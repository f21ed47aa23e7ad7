"""Real servers the tests start for themselves, from Debian's packages, in temporary folders, on loopback."""
