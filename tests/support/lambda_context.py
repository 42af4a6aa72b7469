"""The part of a Lambda context that handlers and Powertools read, for calling an entry point in-process."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LambdaContext:
    function_name: str = "ApiFunction"
    aws_request_id: str = "req-local"
    memory_limit_in_mb: int = 512
    remaining_ms: int = 30_000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms
