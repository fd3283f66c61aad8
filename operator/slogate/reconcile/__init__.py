"""Level-triggered reconcilers: read inputs, ask the domain, apply the outcome."""
