"""Builders and trainers for everything in :mod:`restore.models` and the engine's fitted
weights. Run through ``restore build …``; they read the training split only (files named
``*-dev*`` never train anything). Runtime code never imports this package."""
