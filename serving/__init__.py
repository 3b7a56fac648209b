"""Serving: the SavedModel contract, export, op check and push for TF Serving, deployment configs, the gRPC
client, and the local TF-Serving-API server used in development and tests."""
