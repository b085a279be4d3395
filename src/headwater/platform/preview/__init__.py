"""Preview runs: an app of a project over recent records of its inputs, in a child process.

Nothing is produced and no offset is committed: the child reads the inputs without a consumer
group and runs the app in local mode, which captures outputs instead of producing them.
"""

from headwater.platform.preview.runner import PreviewRequest, run_preview

__all__ = ["PreviewRequest", "run_preview"]
