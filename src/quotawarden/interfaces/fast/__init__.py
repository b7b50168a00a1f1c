"""The fast paths: ``statusline``, ``summary`` and repeated ``usage`` reports without heavy imports.

The one interface package allowed to read the store directly (plain ``sqlite3``); it calls the same analysis
functions as every other view.
"""
