"""The local stack: the real system in one process, with no AWS account, no model key and no Docker.

* AWS is moto, as a server on loopback; it executes the real ASL, and its Lambda invocations
  are dispatched in-process to the real handlers found in template.yaml.
* The model is the offline model server (a documented test double), or the real Responses
  API when ``OPENAI_API_KEY`` is set.
* An HTTP adapter turns requests on 127.0.0.1 into API Gateway HTTP API events for ApiFunction.
"""
