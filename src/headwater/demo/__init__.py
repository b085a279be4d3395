"""The demo: a synthetic order-event generator, the example order pipeline, and the runner."""
