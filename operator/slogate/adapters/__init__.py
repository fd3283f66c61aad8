"""Kubernetes and Prometheus I/O, injected into reconcile so the rest stays pure."""
