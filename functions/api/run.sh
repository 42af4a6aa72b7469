#!/bin/sh
# StreamingApiFunction's start command: the Lambda Web Adapter (AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap) runs it
# once per container, then hands each invocation to the server as an HTTP request (docs/streaming.md).
export PYTHONPATH="/opt/python:${LAMBDA_TASK_ROOT:-.}${PYTHONPATH:+:$PYTHONPATH}"
exec python3 "${LAMBDA_TASK_ROOT:-.}/serve.py"
