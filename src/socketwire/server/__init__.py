"""The Socket.IO server API: Server, Namespace, Socket, BroadcastOperator."""
