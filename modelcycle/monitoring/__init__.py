"""Production monitoring: the prediction log, labels that arrive later, drift and decay jobs."""
