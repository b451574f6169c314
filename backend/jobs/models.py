"""Placeholder: replaced by the durable job table."""
