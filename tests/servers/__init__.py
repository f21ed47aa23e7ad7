"""Real servers the tests start for themselves: Debian packages, loopback, a temporary folder each."""
