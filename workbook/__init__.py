"""The workbook's own machinery: run, test, check and package the notebooks (never imported by ``helpers``)."""
