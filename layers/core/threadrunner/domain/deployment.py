"""What a deployment decides for every run of every project, unless a project's operator decided otherwise."""

from __future__ import annotations

from dataclasses import dataclass, field

from .budget import OUTPUT_RESERVE_TOKENS, Budget, ProjectLimits


@dataclass(frozen=True)
class RunDefaults:
    """The deployment's choices for runs (template parameters, read by ``threadrunner.config``)."""

    model_override: str = ""
    """A model every run uses instead of the assistant's (``MODEL_OVERRIDE``)."""
    budget: Budget = field(default_factory=Budget)
    """Daily budgets for projects without their own (``DAILY_TOKEN_BUDGET*``, ``DAILY_CODE_INTERPRETER_SECONDS``)."""
    limits: ProjectLimits = field(default_factory=ProjectLimits)
    """Limits of projects that have none of their own (``PROJECT_MAX_ACTIVE_RUNS``, ``PROJECT_REQUESTS_PER_MINUTE``,
    ``PROJECT_MAX_OPEN_STREAMS``)."""
    output_reserve_tokens: int = OUTPUT_RESERVE_TOKENS
    """What a model response without ``max_output_tokens`` reserves for its answer (``OUTPUT_RESERVE_TOKENS``)."""
    context_tokens: int = 128_000
    """The models' context window (``MODEL_CONTEXT_TOKENS``): what a conversation's history may fill."""
