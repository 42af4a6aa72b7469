"""The HTTP API: Powertools routers for the Assistants API v2 paths, their request models and errors."""
