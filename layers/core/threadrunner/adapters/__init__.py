"""Adapters: the ports implemented on AWS and on the Responses API."""
