"""The workbook's machinery: the commands that run, check and publish the notebooks (not imported by them)."""
