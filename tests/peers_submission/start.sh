#!/bin/sh
exec python3 app.py
