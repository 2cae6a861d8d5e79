"""``python -m trainer --config RECIPE.yaml [--field value ...]``: the entry point ``accelerate launch -m trainer`` uses."""

from trainer.sft import main

main()
