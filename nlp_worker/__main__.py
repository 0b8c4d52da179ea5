from nlp_worker.cli import main

main(prog_name="python -m nlp_worker")
