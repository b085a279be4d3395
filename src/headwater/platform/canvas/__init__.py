"""The pipeline canvas: edits of a project (add, connect, remove a step, change its resources)
planned as file changes against one commit, so they can be shown as a diff before committing."""
