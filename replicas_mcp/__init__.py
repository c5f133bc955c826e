"""Delegate coding work to Replicas cloud agents from any MCP host."""
