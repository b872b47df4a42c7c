from restore.cli import run

run()
