"""One module per scheme; manager.STORES maps each store family to its class."""
