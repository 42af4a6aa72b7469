"""The domain: Assistants API objects, run-status rules and the tool registry. No AWS, no HTTP."""
