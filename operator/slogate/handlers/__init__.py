"""kopf handler registrations: a few lines each, every one with an explicit id."""
