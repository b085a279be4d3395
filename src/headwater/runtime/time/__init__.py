"""Event time: watermarks and how they advance through a pipeline."""
