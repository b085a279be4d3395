"""Projects: Git repositories of Headwater apps, their working trees, templates and manifests."""
