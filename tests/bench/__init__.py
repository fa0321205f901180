"""The benchmark (`make bench`): not collected by pytest, run by hand."""
