"""Tokens reserved, settled and summed; the deployment's list of unsettled responses."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from threadrunner.domain.budget import Budget, DayUsage, Reservation, UnsettledResponse, over_budget
from threadrunner.domain.common import Usage
from threadrunner.domain.run import Run
from threadrunner.errors import BudgetExceeded

from .world import World


class FakeUsage:
    def __init__(self, world: World) -> None:
        self.world = world

    def reserve(self, reservation: Reservation, budget: Budget) -> None:
        project, user = self.usage_today(reservation.day), None
        if reservation.user_id:
            user = self.usage_today(reservation.day, reservation.user_id)
        problem = over_budget(budget, project, user)
        if problem:
            raise BudgetExceeded(problem, code="daily_budget_exceeded")
        for who in (None, reservation.user_id) if reservation.user_id else (None,):
            day = self.usage_today(reservation.day, who)
            self.world.days[(reservation.day, who)] = day.model_copy(
                update={"reserved": day.reserved + reservation.tokens}
            )

    def release(self, reservation: Reservation) -> None:
        for who in (None, reservation.user_id) if reservation.user_id else (None,):
            day = self.usage_today(reservation.day, who)
            self.world.days[(reservation.day, who)] = day.model_copy(
                update={"reserved": day.reserved - reservation.tokens}
            )

    def record_response(
        self, response_id: str, reservation: Reservation, thread_id: str, run_id: str, unsettled: bool = False
    ) -> None:
        self.world.responses[response_id] = (reservation, False)
        if not run_id:
            self.world.forwarded.add(response_id)
        if unsettled:
            listed = UnsettledResponse(project=self.world.project, response_id=response_id, reservation=reservation)
            self.world.unsettled[(self.world.project, response_id)] = listed

    def is_forwarded(self, response_id: str) -> bool:
        return response_id in self.world.forwarded

    def settle(self, response_id: str, usage: Usage | None) -> bool:
        if response_id not in self.world.responses or self.world.responses[response_id][1]:
            return False
        reservation, _ = self.world.responses[response_id]
        used = usage or Usage(prompt_tokens=reservation.prompt_tokens, total_tokens=reservation.prompt_tokens)
        self.spend(reservation, used)
        self.world.responses[response_id] = (reservation, True)
        self.world.unsettled.pop((self.world.project, response_id), None)
        user = self.world.users.get(reservation.user_id or "")
        if user is not None:  # the user's lifetime usage; a deleted user is not brought back by it
            self.world.users[user.user_id] = user.model_copy(update={"usage": user.usage + used})
        return True

    def spend(self, reservation: Reservation, usage: Usage) -> None:
        for who in (None, reservation.user_id) if reservation.user_id else (None,):
            day = self.usage_today(reservation.day, who)
            self.world.days[(reservation.day, who)] = DayUsage(
                usage=day.usage + usage, reserved=day.reserved - reservation.tokens
            )

    def usage_today(self, day: str, user_id: str | None = None) -> DayUsage:
        return self.world.days.get((day, user_id), DayUsage())

    def add_code_seconds(self, day: str, seconds: float) -> None:
        today = self.usage_today(day)
        self.world.days[(day, None)] = today.model_copy(
            update={"code_interpreter_seconds": today.code_interpreter_seconds + round(seconds, 3)}
        )

    def count_thread_usage(self, run: Run) -> bool:
        entry = self.world.threads.get(run.thread_id)
        if entry is None or run.id not in entry.runs or run.id in self.world.counted_runs:
            return False
        self.world.counted_runs.add(run.id)
        entry.usage += run.usage or Usage()
        return True

    def thread_usage(self, thread_id: str) -> Usage:
        return self.world.thread(thread_id).usage


@dataclass
class FakeUnsettled:
    """The deployment's list of unsettled responses: the one the worlds given share."""

    listing: dict[tuple[str, str], UnsettledResponse]

    def listed(self) -> Iterator[UnsettledResponse]:
        yield from list(self.listing.values())

    def forget(self, project: str, response_id: str) -> None:
        self.listing.pop((project, response_id), None)
