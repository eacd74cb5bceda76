"""Mutation adequacy of the hidden tests: `backbench adequacy`."""
