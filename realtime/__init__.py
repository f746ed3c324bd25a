"""Long-lived connections: protocol frames, the per-worker hub, WebSocket and SSE endpoints."""
