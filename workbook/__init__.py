"""The workbook's own machinery: run, test, check, publish and package the notebooks (never imported by ``helpers``)."""
