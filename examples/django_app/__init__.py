"""The demo's ``docs`` service: a minimal Django project, served by gunicorn.

    HH_API_URL=http://127.0.0.1:8318 gunicorn --chdir examples --bind 127.0.0.1:8002 \\
        django_app.wsgi:application

``GET /search?q=...`` ranks a few documents (a traced tool call) and answers JSON.
"""
