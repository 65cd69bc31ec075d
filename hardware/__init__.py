"""Devices at the counter: thermal printers, scanners and cameras, printable cards.

Nothing here imports Flask: the kiosk passes plain data in and gets bytes, images or text out.
"""
