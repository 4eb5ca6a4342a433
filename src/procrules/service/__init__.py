"""The decision service (`procrules serve`): an ASGI app over the Checker and the case store."""
