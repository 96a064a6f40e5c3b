"""Spreadsheet cells the register writes (CSV, XLSX) and reads back: protection against formula injection."""

import re

# Spreadsheet formula injection (OWASP "CSV injection"): a text cell starting with one of these is a formula in
# Excel/WPS/LibreOffice. Exports prefix such text with ' (also text that already starts with ' before one of
# them, so that reading back removes exactly the quote the export added). Plain numbers (-5, +3.2) stay numbers.
_FORMULA = re.compile(r"^'*[=+\-@\t\r]")
_PROTECTED = re.compile(r"^'+[=+\-@\t\r]")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$")


def cell_protect(value):
    """Export: '=HYPERLINK(…)' → "'=HYPERLINK(…)"; numbers and other text unchanged."""
    if isinstance(value, str) and _FORMULA.match(value) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def cell_unprotect(value):
    """Import: remove the quote cell_protect added."""
    if isinstance(value, str) and value[:1] == "'" and _PROTECTED.match(value):
        return value[1:]
    return value
