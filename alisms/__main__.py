"""``python -m alisms``: the command line."""

from alisms._cli import run

run()
