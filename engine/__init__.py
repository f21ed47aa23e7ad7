"""The session engine: runs a session (a file, a live room, the rest of either after a crash) with the
session's stored options, in windows. Below api/ (the service and the command line), above cases/."""
