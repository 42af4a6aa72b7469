"""The use cases, cut by resource. They take ports and plain request models; they know nothing of HTTP or AWS."""
