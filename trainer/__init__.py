"""Training from mixed-source traces with TRL (SFT in one or two stages)."""
