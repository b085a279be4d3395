"""The HTTP API: one router per resource, all under /api, each route declaring its role."""
