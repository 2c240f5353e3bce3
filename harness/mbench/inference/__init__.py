"""Inference utilities: batched, memory-bounded prediction over images and volumes."""
