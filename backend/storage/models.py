"""Placeholder: replaced by the blob tables."""
