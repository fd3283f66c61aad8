"""Test harness: real clusters and a real Prometheus for integration and e2e tests."""
