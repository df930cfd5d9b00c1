"""The console: server-rendered pages for people, mounted at ``/`` (see docs/console.md)."""
