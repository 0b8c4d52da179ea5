from scraper_worker.cli import main

main(prog_name="python -m scraper_worker")
