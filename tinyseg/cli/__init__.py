"""What the commands (train, evaluate, predict, bn_stats, bench) share and nothing else uses:
their options and one-line errors (options.py), what they print and draw as they work (report.py)."""

from .options import CLIError, check_exists, check_number, check_output, check_size, parse_size, run_command
from .report import ProgressBar, RunPictures, describe_data, report_skipped

__all__ = ["CLIError", "run_command", "parse_size", "check_number", "check_size", "check_exists", "check_output",
           "describe_data", "report_skipped", "ProgressBar", "RunPictures"]
