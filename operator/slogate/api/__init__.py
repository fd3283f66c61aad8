"""Typed models of slogate's custom resources: the one source of truth for the CRDs."""
