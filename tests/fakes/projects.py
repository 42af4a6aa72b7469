"""A project's policy, request counts and open streams."""

from __future__ import annotations

import time

from threadrunner.domain.budget import ProjectPolicy

from .world import World


class FakeProjects:
    def __init__(self, world: World) -> None:
        self.world = world

    def get_policy(self) -> ProjectPolicy:
        return self.world.policy

    def set_policy(self, policy: ProjectPolicy) -> None:
        self.world.policy = policy

    def count_request(self, minute: int, limit: int) -> bool:
        if self.world.requests.get(minute, 0) >= limit:
            return False
        self.world.requests[minute] = self.world.requests.get(minute, 0) + 1
        return True

    def open_stream(self, stream_id: str, expires_at: int, limit: int) -> bool:
        if len(self.world.open_streams) >= limit:
            self.world.open_streams = {s: at for s, at in self.world.open_streams.items() if at >= time.time()}
            if len(self.world.open_streams) >= limit:
                return False
        self.world.open_streams[stream_id] = expires_at
        return True

    def close_stream(self, stream_id: str, expires_at: int) -> None:
        if self.world.open_streams.get(stream_id) == expires_at:  # the stream counted with this id and expiry
            del self.world.open_streams[stream_id]
