"""The office's spreadsheets (XLSX), one module per area.

Each report function reads through the services and returns the workbook's bytes with its file
name; the pages send them as downloads and ``jifen report`` writes them to a file, so a page
and the command line give the same sheet. (The ledgers' reports live beside their data in
:mod:`inventory.ledgers`, the month-end area report in :mod:`inventory.monthend`.)
"""
