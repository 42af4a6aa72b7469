"""The example server-side tools. Importing this package registers them.

Add your own tools in modules of your own (next to ``functions/tools/app.py`` or in the layer)
and list them in the ToolFunction's ``TOOL_MODULES`` setting.
"""

from . import documents, weather

__all__ = ["documents", "weather"]
