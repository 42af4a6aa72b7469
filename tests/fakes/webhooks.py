"""The deployment's record of the provider's webhooks: which run waits on which response, the deliveries received."""

from __future__ import annotations

from dataclasses import dataclass, field

from threadrunner.domain.run_record import RunRef
from threadrunner.ports import Delivery


@dataclass
class FakeResponseWebhooks:
    waiting: dict[str, RunRef] = field(default_factory=dict)
    deliveries: dict[str, int] = field(default_factory=dict)
    """Each delivery's id, and the timestamp it came with first."""

    def expect(self, response_id: str, ref: RunRef) -> None:
        self.waiting[response_id] = ref

    def expected(self, response_id: str) -> RunRef | None:
        return self.waiting.get(response_id)

    def receive(self, webhook_id: str, timestamp: int) -> Delivery:
        if webhook_id not in self.deliveries:
            self.deliveries[webhook_id] = timestamp
            return "first"
        return "replayed" if self.deliveries[webhook_id] == timestamp else "retried"
