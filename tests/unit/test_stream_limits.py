"""Open streams counted per project: a place taken before the answer, given back when the stream ends."""

from __future__ import annotations

import json
import time

import pytest

from tests.fakes import World, fake_stores
from threadrunner.api import stream_limits, streams
from threadrunner.app import projects
from threadrunner.domain.budget import ProjectLimits, ProjectPolicy
from threadrunner.domain.deployment import RunDefaults
from threadrunner.errors import TooManyOpenStreams

DEFAULTS = RunDefaults(limits=ProjectLimits(open_streams=1))


def _asking(stream: object = True) -> dict:
    return {"body": json.dumps({"assistant_id": "asst_1", "stream": stream})}


def _streaming(chunks: list[str]):
    def answer() -> dict:
        return {"statusCode": 200, "body": streams.EventStream(iter(chunks))}

    return answer


def test_given_a_stream_when_it_is_read_to_its_end_then_its_place_is_taken_meanwhile_and_given_back():
    world = World()
    stores = fake_stores(world)

    answered = stream_limits.counted(stores, DEFAULTS, _asking(), 840, _streaming(["event: a\n\n", "event: b\n\n"]))

    assert len(world.open_streams) == 1  # taken before the answer, held while the events last
    (expires_at,) = world.open_streams.values()
    assert expires_at >= time.time() + 840  # a dead container's place frees itself after the stream's longest life
    assert list(answered["body"]) == ["event: a\n\n", "event: b\n\n"]
    assert world.open_streams == {}


def test_given_a_project_at_its_limit_then_a_stream_is_refused_before_it_is_answered():
    world = World()
    stores = fake_stores(world)
    stream_limits.counted(stores, DEFAULTS, _asking(), 840, _streaming(["event: a\n\n"]))  # left open
    answered = []

    with pytest.raises(TooManyOpenStreams) as refused:
        stream_limits.counted(stores, DEFAULTS, _asking(), 840, lambda: answered.append(1) or {"statusCode": 200})

    assert refused.value.code == "too_many_open_streams" and answered == []  # nothing was made


def test_given_an_answer_that_does_not_stream_then_its_place_is_given_back_at_once():
    world = World()
    stores = fake_stores(world)

    answered = stream_limits.counted(stores, DEFAULTS, _asking(), 840, lambda: {"statusCode": 400, "body": "{}"})

    assert answered["statusCode"] == 400 and world.open_streams == {}


def test_given_a_request_that_does_not_ask_to_stream_or_a_project_without_a_limit_then_nothing_is_counted():
    world = World()
    stores = fake_stores(world)

    stream_limits.counted(stores, DEFAULTS, _asking("yes"), 840, lambda: {"statusCode": 400, "body": "{}"})
    stores.projects.set_policy(ProjectPolicy(limits=ProjectLimits(open_streams=None)))
    stream_limits.counted(stores, RunDefaults(), _asking(), 840, _streaming(["event: a\n\n"]))

    assert world.open_streams == {}


def test_given_places_whose_container_died_then_they_stop_counting_once_expired():
    world = World()
    stores = fake_stores(world)
    world.open_streams["stream_dead"] = int(time.time()) - 1  # its stream would have ended by now

    assert projects.open_stream(stores, DEFAULTS, 840) is not None
    assert list(world.open_streams) != ["stream_dead"] and len(world.open_streams) == 1
