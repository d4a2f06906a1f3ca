"""The outcomes REST API (FastAPI): ``api.app.create_app(settings)``."""
