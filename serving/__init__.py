"""Serving: the SavedModel contract, export and push for TF Serving, deployment configs, gRPC client."""
