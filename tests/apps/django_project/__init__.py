"""A Django project for the honeyhive-django tests (in-process and under gunicorn/uvicorn)."""
