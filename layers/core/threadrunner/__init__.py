"""threadrunner: the Assistants API v2 served from your own AWS account."""
