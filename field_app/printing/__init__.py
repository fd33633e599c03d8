"""Printing: form definition + record -> PDF (reportlab), page QR codes, copies. No Qt."""
