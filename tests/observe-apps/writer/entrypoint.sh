#!/bin/sh
# Waits for nothing, migrates nothing: runs the app.
echo "starting the writer"
exec python3 /app/writer.py
