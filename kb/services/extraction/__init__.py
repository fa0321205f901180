"""The text of uploaded files, for search: ``reader`` parses PDF and office files and runs
only as a script in a child process that ``sandbox`` starts with CPU, memory and time
limits, so a hostile file cannot stall the site."""
