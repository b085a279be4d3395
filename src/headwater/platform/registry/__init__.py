"""The model registry's files: unpacking uploads, loading them in the sandbox to validate them,
and the folder deployments read (see ``headwater.models.registry`` for its layout)."""
