"""``get_weather``: an example tool."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, Field

from ..domain.tools import tool

_CONDITIONS = ("sunny", "partly cloudy", "overcast", "foggy", "light rain", "windy")


class GetWeatherArgs(BaseModel):
    city: str = Field(min_length=1, max_length=100, description="The city, e.g. San Francisco")
    unit: Literal["celsius", "fahrenheit"] = Field("celsius", description="The temperature unit")


@tool(timeout_seconds=5)
def get_weather(args: GetWeatherArgs) -> dict:
    """Get the current weather for a city.

    What it really does: it contacts no weather service. It derives a plausible, fixed
    report from a hash of the city's name, so the same city always gets the same answer.
    It exists to show a server-side tool end to end; replace its body with a call to a real
    weather API to make it useful.
    """
    digest = hashlib.sha256(args.city.strip().lower().encode()).digest()
    celsius = 4 + digest[0] % 26
    temperature = celsius if args.unit == "celsius" else round(celsius * 9 / 5 + 32)
    return {
        "city": args.city,
        "temperature": temperature,
        "unit": args.unit,
        "conditions": _CONDITIONS[digest[1] % len(_CONDITIONS)],
        "source": "threadrunner example tool (not a real forecast)",
    }
