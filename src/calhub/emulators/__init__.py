"""Offline emulators of the providers clouds (Graph, Google); separate apps."""
