"""The loop that drives operators over micro-batches: poll, process, produce, checkpoint."""
