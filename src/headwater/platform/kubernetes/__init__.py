"""Kubernetes as a deployment target: render an app's manifests (pure data), apply them with
the official client (server-side apply) and read their status back."""
