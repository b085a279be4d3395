"""The loop: polling micro-batches, executing them, emitting, running locally."""
