"""slogate: SLO-aware release gating for Kubernetes.

The package is layered: ``handlers`` (kopf wiring) call ``reconcile`` (read
inputs, decide, act through injected adapters), which calls the pure ``domain``
over the ``api`` models. ``adapters`` hold all Kubernetes and Prometheus I/O.
"""

__version__ = "0.1.0.dev0"
