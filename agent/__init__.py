"""Room agents: the link between an interview room's own machine and the centre's service, both ends.

    room machine: microphones → SegmentRecorder (the room's disk first) → RoomAgent ──WebSocket──┐
    service:      /agents/stream → StreamReceiver → SegmentMirror (the same segments, byte for byte)
                                                   → LiveSession.run_received (transcript, speakers, checks)

Between engine/ and api/: the receiving end runs sessions through engine/; the room end uses only capture/
(and the `websockets` client), so a room's machine never loads the recognition model. The two ends share the
wire format (protocol.py). Import the end you need (agent.room, agent.receiver): this package imports neither.
"""
