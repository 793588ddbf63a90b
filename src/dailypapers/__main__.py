"""``python -m dailypapers`` runs the command line (the console script's entry point)."""

from dailypapers.entry import main

main()
