"""Request bodies, as the Assistants API v2 accepts them: one module per resource family, and ``common`` for the
base every body shares (unknown fields refused, ``null`` as "not given") and the field types several use."""
