"""What the commands (train, evaluate, predict, bn_stats, bench) share and nothing else uses:
their options and one-line errors (options.py), what they print and draw as they work (report.py)."""

from .options import (
    CLIError,
    add_config_options,
    check_exists,
    check_new_run,
    check_number,
    check_output,
    check_size,
    check_writable,
    parse_size,
    run_command,
)
from .report import ProgressBar, RunPictures, describe_data, report_run, report_skipped

__all__ = [
    "add_config_options",
    "CLIError",
    "run_command",
    "parse_size",
    "check_number",
    "check_size",
    "check_exists",
    "check_output",
    "check_writable",
    "check_new_run",
    "describe_data",
    "report_skipped",
    "report_run",
    "ProgressBar",
    "RunPictures",
]
