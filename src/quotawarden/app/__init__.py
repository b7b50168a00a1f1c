"""The application layer: the facade every interface receives, and the use cases behind it."""
