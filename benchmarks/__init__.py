"""Benchmarks of skkeras against raw Keras, scikeras and scikit-learn (see README.md)."""
