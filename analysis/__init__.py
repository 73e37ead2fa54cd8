"""Measure gain, time constants and persistence of rate networks and check them against theory."""
