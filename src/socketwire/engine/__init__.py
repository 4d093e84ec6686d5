"""Engine.IO v4 runtime on asyncio: sessions, long-polling, WebSocket, upgrade, heartbeats."""
