"""Who speaks: the model layer (spec strings -> chat models) and one module per agent role."""
