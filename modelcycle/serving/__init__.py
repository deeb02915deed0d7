"""The inference server (`modelcycle serve`): scoring app, payload formats, Prometheus metrics."""
