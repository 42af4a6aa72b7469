"""The run loop's tasks (``tasks``) and the state they hand each other (``state``)."""
